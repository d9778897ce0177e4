// Reference solution: one block per row, walking the row in chunks of blockDim.x elements.
// Each chunk: warp-level inclusive scans, a scan of the warp totals, then the running carry is added.

// Inclusive scan of `v` across the block; `warp_totals` holds 32 floats of shared memory.
__device__ float block_inclusive_scan(float v, float* warp_totals) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    for (int offset = 1; offset < 32; offset <<= 1) {
        const float up = __shfl_up_sync(0xffffffffu, v, offset);
        if (lane >= offset) v += up;
    }
    if (lane == 31) warp_totals[warp] = v;
    __syncthreads();
    if (warp == 0) {
        float t = lane < warps ? warp_totals[lane] : 0.0f;
        for (int offset = 1; offset < 32; offset <<= 1) {
            const float up = __shfl_up_sync(0xffffffffu, t, offset);
            if (lane >= offset) t += up;
        }
        if (lane < warps) warp_totals[lane] = t;
    }
    __syncthreads();
    if (warp > 0) v += warp_totals[warp - 1];
    return v;
}

extern "C" __global__ void prefix_scan(const float* __restrict__ x, float* __restrict__ out, int rows, int cols) {
    __shared__ float warp_totals[32];
    __shared__ float chunk_total;
    const float* xr = x + (size_t)blockIdx.x * cols;
    float* yr = out + (size_t)blockIdx.x * cols;
    float carry = 0.0f;
    for (int base = 0; base < cols; base += blockDim.x) {
        const int c = base + threadIdx.x;
        float v = c < cols ? xr[c] : 0.0f;
        v = block_inclusive_scan(v, warp_totals) + carry;
        if (c < cols) yr[c] = v;
        if (threadIdx.x == blockDim.x - 1) chunk_total = v;
        __syncthreads();
        carry = chunk_total;
        __syncthreads();
    }
}
