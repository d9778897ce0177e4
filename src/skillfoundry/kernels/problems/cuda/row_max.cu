// Reference solution: one block per row; strided partial maxima, then a warp-shuffle block reduction.
__device__ __forceinline__ float warp_max(float v) {
    for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
    return v;
}

extern "C" __global__ void row_max(const float* __restrict__ x, float* __restrict__ out, int rows, int cols) {
    __shared__ float partial[32];
    const float neg_inf = -__int_as_float(0x7f800000);
    const float* xr = x + (size_t)blockIdx.x * cols;
    float best = neg_inf;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) best = fmaxf(best, xr[c]);
    best = warp_max(best);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) partial[warp] = best;
    __syncthreads();
    if (warp == 0) {
        best = lane < (int)(blockDim.x >> 5) ? partial[lane] : neg_inf;
        best = warp_max(best);
        if (lane == 0) out[blockIdx.x] = best;
    }
}
