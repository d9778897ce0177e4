// Reference solution: one block per row; (value, index) pairs reduced so ties keep the smallest index.
__device__ __forceinline__ void better(float& best, int& idx, float other, int other_idx) {
    if (other > best || (other == best && other_idx < idx)) {
        best = other;
        idx = other_idx;
    }
}

__device__ __forceinline__ void warp_argmax(float& best, int& idx) {
    for (int offset = 16; offset > 0; offset >>= 1) {
        const float other = __shfl_xor_sync(0xffffffffu, best, offset);
        const int other_idx = __shfl_xor_sync(0xffffffffu, idx, offset);
        better(best, idx, other, other_idx);
    }
}

extern "C" __global__ void row_argmax(const float* __restrict__ x, int* __restrict__ out, int rows, int cols) {
    __shared__ float best_s[32];
    __shared__ int idx_s[32];
    const float neg_inf = -__int_as_float(0x7f800000);
    const float* xr = x + (size_t)blockIdx.x * cols;
    float best = neg_inf;
    int idx = 0x7fffffff;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) better(best, idx, xr[c], c);
    warp_argmax(best, idx);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) {
        best_s[warp] = best;
        idx_s[warp] = idx;
    }
    __syncthreads();
    if (warp == 0) {
        const bool valid = lane < (int)(blockDim.x >> 5);
        best = valid ? best_s[lane] : neg_inf;
        idx = valid ? idx_s[lane] : 0x7fffffff;
        warp_argmax(best, idx);
        if (lane == 0) out[blockIdx.x] = idx;
    }
}
