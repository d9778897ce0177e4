// Reference solution: one block per row; the residual sum is recomputed on each pass instead of stored.
__device__ __forceinline__ float warp_sum(float v) {
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}

// Block-wide sum; every thread receives the result. `buf` holds 32 floats of shared memory.
__device__ float block_sum(float v, float* buf) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = warp_sum(v);
    if (lane == 0) buf[warp] = v;
    __syncthreads();
    v = lane < (int)(blockDim.x >> 5) ? buf[lane] : 0.0f;
    v = warp_sum(v);
    __syncthreads();
    return v;
}

extern "C" __global__ void add_layernorm(const float* __restrict__ x, const float* __restrict__ residual,
                                         const float* __restrict__ weight, const float* __restrict__ bias,
                                         float* __restrict__ out, int rows, int cols, float eps) {
    __shared__ float buf[32];
    const size_t base = (size_t)blockIdx.x * cols;
    float s = 0.0f;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) s += x[base + c] + residual[base + c];
    const float mean = block_sum(s, buf) / cols;
    float ss = 0.0f;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) {
        const float d = x[base + c] + residual[base + c] - mean;
        ss += d * d;
    }
    const float rstd = rsqrtf(block_sum(ss, buf) / cols + eps);
    for (int c = threadIdx.x; c < cols; c += blockDim.x) {
        const float v = x[base + c] + residual[base + c];
        out[base + c] = (v - mean) * rstd * weight[c] + bias[c];
    }
}
