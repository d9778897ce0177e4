// Reference solution: exact (erf) GELU on fp16 data, computed in float32.
#include <cuda_fp16.h>

extern "C" __global__ void gelu_fp16(const __half* __restrict__ x, __half* __restrict__ out, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        const float v = __half2float(x[i]);
        out[i] = __float2half_rn(0.5f * v * (1.0f + erff(v * 0.70710678118654752f)));
    }
}
