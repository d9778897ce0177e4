// Reference solution: both layers share one 16 x 16 tiled matmul with a fused bias (and optional ReLU).
#define TILE 16

// Y[M, N] = act(X[M, K] @ W[K, N] + b[N]) for the tile of Y owned by this block.
template <bool kRelu>
__device__ void linear_tile(const float* __restrict__ X, const float* __restrict__ W, const float* __restrict__ b,
                            float* __restrict__ Y, int M, int K, int N) {
    __shared__ float Xs[TILE][TILE];
    __shared__ float Ws[TILE][TILE + 1];
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int row = blockIdx.y * TILE + ty;
    const int col = blockIdx.x * TILE + tx;
    float acc = 0.0f;
    for (int k0 = 0; k0 < K; k0 += TILE) {
        Xs[ty][tx] = (row < M && k0 + tx < K) ? X[(size_t)row * K + k0 + tx] : 0.0f;
        Ws[ty][tx] = (k0 + ty < K && col < N) ? W[(size_t)(k0 + ty) * N + col] : 0.0f;
        __syncthreads();
#pragma unroll
        for (int k = 0; k < TILE; ++k) acc += Xs[ty][k] * Ws[k][tx];
        __syncthreads();
    }
    if (row < M && col < N) {
        const float v = acc + b[col];
        Y[(size_t)row * N + col] = kRelu ? fmaxf(v, 0.0f) : v;
    }
}

extern "C" __global__ void mlp_hidden(const float* __restrict__ x, const float* __restrict__ W1,
                                      const float* __restrict__ b1, float* __restrict__ h, int M, int D, int H) {
    linear_tile<true>(x, W1, b1, h, M, D, H);
}

extern "C" __global__ void mlp_out(const float* __restrict__ h, const float* __restrict__ W2,
                                   const float* __restrict__ b2, float* __restrict__ out, int M, int H, int O) {
    linear_tile<false>(h, W2, b2, out, M, H, O);
}
