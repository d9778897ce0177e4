// Reference solution: 16 x 16 shared-memory tiled matmul with the bias and ReLU applied before the store.
#define TILE 16

extern "C" __global__ void matmul_bias_relu(const float* __restrict__ A, const float* __restrict__ W,
                                            const float* __restrict__ bias, float* __restrict__ out,
                                            int M, int N, int K) {
    __shared__ float As[TILE][TILE];
    __shared__ float Ws[TILE][TILE + 1];
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int row = blockIdx.y * TILE + ty;
    const int col = blockIdx.x * TILE + tx;
    float acc = 0.0f;
    for (int k0 = 0; k0 < K; k0 += TILE) {
        As[ty][tx] = (row < M && k0 + tx < K) ? A[(size_t)row * K + k0 + tx] : 0.0f;
        Ws[ty][tx] = (k0 + ty < K && col < N) ? W[(size_t)(k0 + ty) * N + col] : 0.0f;
        __syncthreads();
#pragma unroll
        for (int k = 0; k < TILE; ++k) acc += As[ty][k] * Ws[k][tx];
        __syncthreads();
    }
    if (row < M && col < N) out[(size_t)row * N + col] = fmaxf(acc + bias[col], 0.0f);
}
