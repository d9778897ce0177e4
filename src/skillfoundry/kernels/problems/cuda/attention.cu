// Reference solution: one block (128 threads) per query row i.
// 1) each warp scores keys j = warp, warp + 4, ... (lanes split the head dimension) into shared memory;
// 2) block max and sum of exponentials; 3) thread c accumulates out[i, c] over all keys.
__device__ __forceinline__ float warp_sum(float v) {
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
    for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
    return v;
}

// Block-wide reductions; every thread receives the result. `buf` holds 32 floats of shared memory.
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

__device__ float block_max(float v, float* buf) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = warp_max(v);
    if (lane == 0) buf[warp] = v;
    __syncthreads();
    v = lane < (int)(blockDim.x >> 5) ? buf[lane] : -__int_as_float(0x7f800000);
    v = warp_max(v);
    __syncthreads();
    return v;
}

extern "C" __global__ void attention(const float* __restrict__ Q, const float* __restrict__ K,
                                     const float* __restrict__ V, float* __restrict__ out, int L, int d,
                                     float scale) {
    extern __shared__ float p[];  // L scores, then probabilities (unnormalised)
    __shared__ float buf[32];
    const int i = blockIdx.x;
    const int keys = L;
    const float* q = Q + (size_t)i * d;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    for (int j = warp; j < keys; j += warps) {
        const float* k = K + (size_t)j * d;
        float s = 0.0f;
        for (int c = lane; c < d; c += 32) s += q[c] * k[c];
        s = warp_sum(s);
        if (lane == 0) p[j] = s * scale;
    }
    __syncthreads();
    float m = -__int_as_float(0x7f800000);
    for (int j = threadIdx.x; j < keys; j += blockDim.x) m = fmaxf(m, p[j]);
    m = block_max(m, buf);
    float total = 0.0f;
    for (int j = threadIdx.x; j < keys; j += blockDim.x) {
        const float e = expf(p[j] - m);
        p[j] = e;
        total += e;
    }
    const float inv = 1.0f / block_sum(total, buf);  // its barrier also publishes every p[j]
    for (int c = threadIdx.x; c < d; c += blockDim.x) {
        float acc = 0.0f;
        for (int j = 0; j < keys; ++j) acc += p[j] * V[(size_t)j * d + c];
        out[(size_t)i * d + c] = acc * inv;
    }
}
