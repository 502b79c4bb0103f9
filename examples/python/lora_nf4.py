#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A LoRA adapter trained on a frozen NF4 base weight (QLoRA), on ai_core's operators.

A template for a PEFT user: `Nf4Linear` stores a frozen weight as NF4 codes and absmax (buffers,
no gradient) and dequantizes it on the fly with torch.ops.ai_core.nf4_dequantize; `LoraLinear`
adds the trainable low-rank update B·A. Only the adapter trains: the script checks that the loss
falls and that gradients reach the adapter's parameters and nothing else.

    python examples/python/lora_nf4.py [--steps 50] [--block-size 64]

The device comes from ai_core.get_device (RUST_AI_FORCE_CPU=1 selects the CPU without warning).
"""
from __future__ import annotations

import argparse
import math
import sys

import torch

import ai_core


class Nf4Linear(torch.nn.Module):
    """A frozen linear layer whose weight lives in NF4 (about 4.5 bits per weight)."""

    def __init__(self, weight: torch.Tensor, block_size: int = 64,
                 compute_dtype: torch.dtype = torch.float32):
        super().__init__()
        codes, absmax = ai_core.nf4.quantize(weight.detach().contiguous(), block_size)
        self.register_buffer("codes", codes)
        self.register_buffer("absmax", absmax)
        self.shape = tuple(weight.shape)
        self.block_size = block_size
        self.compute_dtype = compute_dtype

    def weight(self) -> torch.Tensor:
        return torch.ops.ai_core.nf4_dequantize(self.codes, self.absmax, self.shape,
                                                self.block_size, self.compute_dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weight().t()


class LoraLinear(torch.nn.Module):
    """`base(x) + (alpha / rank) * x A^T B^T`; B starts at zero, so training starts from the base."""

    def __init__(self, base: Nf4Linear, rank: int = 8, alpha: float = 16.0):
        super().__init__()
        out_features, in_features = base.shape
        self.base = base
        self.lora_a = torch.nn.Parameter(torch.empty(rank, in_features, device=base.codes.device))
        self.lora_b = torch.nn.Parameter(torch.zeros(out_features, rank, device=base.codes.device))
        torch.nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))
        self.scale = alpha / rank

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (x @ self.lora_a.t() @ self.lora_b.t()) * self.scale


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--block-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    device = ai_core.get_device("lora_example")
    print(f"device {device.type}")
    generator = torch.Generator().manual_seed(args.seed)
    in_features, out_features, rank = 256, 128, 8
    # The pretrained weight, and the task: the same weight plus a low-rank change to learn.
    pretrained = torch.randn(out_features, in_features, generator=generator) / math.sqrt(in_features)
    change = (torch.randn(out_features, rank, generator=generator)
              @ torch.randn(rank, in_features, generator=generator)) / in_features
    target = (pretrained + change).to(device)

    model = LoraLinear(Nf4Linear(pretrained.to(device), args.block_size), rank=rank)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    losses = []
    for step in range(args.steps):
        x = torch.randn(64, in_features, generator=generator).to(device)
        loss = torch.nn.functional.mse_loss(model(x), x @ target.t())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if step == 0:
            with_grad = sorted(n for n, p in model.named_parameters() if p.grad is not None)
            assert with_grad == ["lora_a", "lora_b"], with_grad
            assert all(b.grad is None and not b.requires_grad for b in model.buffers())
            assert not model.base.weight().requires_grad
        optimizer.step()
        losses.append(loss.item())
        if step % 10 == 0 or step == args.steps - 1:
            print(f"step {step:3d} loss {loss.item():.6f}")
    print("only the adapter has gradients: lora_a, lora_b (the NF4 base is frozen buffers)")
    first, last = losses[0], sum(losses[-3:]) / len(losses[-3:])
    if not last < 0.5 * first:
        print(f"loss did not fall enough: {first:.6f} -> {last:.6f}")
        return 1
    print(f"loss fell from {first:.6f} to {last:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
