// Reference solution: fp16 bias add (rounded to fp16, like PyTorch) then exact GELU in float32.
#include <cuda_fp16.h>

extern "C" __global__ void bias_gelu_fp16(const __half* __restrict__ x, const __half* __restrict__ bias,
                                          __half* __restrict__ out, int n, int cols) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        const float v = __half2float(__hadd(x[i], bias[i % cols]));
        out[i] = __float2half_rn(0.5f * v * (1.0f + erff(v * 0.70710678118654752f)));
    }
}
