"""PyTorch side of the bench's `gemm-bf16` case: bfloat16 1024x1024 matmul throughput (see gemm_common)."""
import torch

import gemm_common

if __name__ == "__main__":
    gemm_common.run(torch.bfloat16)
