// Reference solution: a 32 x 33 shared tile (padded against bank conflicts); coalesced reads and writes.
// Block (32, 8) covers the 32 x 32 tile of x at row blockIdx.y * 32, column blockIdx.x * 32.
extern "C" __global__ void transpose(const float* __restrict__ x, float* __restrict__ out, int rows, int cols) {
    __shared__ float tile[32][33];
    const int row0 = blockIdx.y * 32, col0 = blockIdx.x * 32;
    const int c = col0 + threadIdx.x;
    for (int j = threadIdx.y; j < 32; j += blockDim.y) {
        const int r = row0 + j;
        if (r < rows && c < cols) tile[j][threadIdx.x] = x[(size_t)r * cols + c];
    }
    __syncthreads();
    // out has `rows` columns: out[col0 + j][row0 + threadIdx.x] = x[row0 + threadIdx.x][col0 + j].
    const int out_col = row0 + threadIdx.x;
    for (int j = threadIdx.y; j < 32; j += blockDim.y) {
        const int out_row = col0 + j;
        if (out_row < cols && out_col < rows) out[(size_t)out_row * rows + out_col] = tile[threadIdx.x][j];
    }
}
