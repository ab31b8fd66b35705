"""PyTorch side of the bench's `gemm` case: fp32 1024x1024 matmul throughput (see gemm_common)."""
import torch

import gemm_common

if __name__ == "__main__":
    gemm_common.run(torch.float32)
