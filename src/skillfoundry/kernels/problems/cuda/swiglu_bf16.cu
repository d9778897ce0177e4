// Reference solution: silu(gate) * up on bfloat16 data, computed in float32.
#include <cuda_bf16.h>

extern "C" __global__ void swiglu_bf16(const __nv_bfloat16* __restrict__ gate, const __nv_bfloat16* __restrict__ up,
                                       __nv_bfloat16* __restrict__ out, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        const float g = __bfloat162float(gate[i]);
        const float u = __bfloat162float(up[i]);
        out[i] = __float2bfloat16_rn(g / (1.0f + expf(-g)) * u);
    }
}
