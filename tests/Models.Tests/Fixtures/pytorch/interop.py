"""PyTorch side of tests/Models.Tests/Interop/PyTorchInteropTests.fs (run with Debian's python3-torch).

    /usr/bin/python3 interop.py import OUT_FOLDER
        Builds AE-LIN (784-128-784) and GAN-MLP-A in PyTorch with the library's parameter names (a ModuleDict of the
        library's modules: `encoder.0.weight`, `generator.4.bias`, ...), seeded, and writes for each
        <id>.pth (its state_dict()) and <id>-io.pth (inputs and PyTorch's outputs, a dict of tensors).

    /usr/bin/python3 interop.py export MODEL.safetensors INPUTS.pth OUT.pth
        Loads a library model file of ae-linear into the PyTorch AE-LIN with the lines of docs/pytorch.md (a pure-Python
        safetensors reader: Debian has no python3-safetensors) and writes its outputs on INPUTS.pth's "x" to OUT.pth.
"""
import json
import struct
import sys

import torch
from torch import nn


def ae_linear():
    """AE-LIN as Autoencoder.linear: Linear(784,128) ReLU | Linear(128,784) ReLU, on [N,1,28,28] images."""
    return nn.ModuleDict({
        "encoder": nn.Sequential(nn.Linear(784, 128), nn.ReLU()),
        "decoder": nn.Sequential(nn.Linear(128, 784), nn.ReLU()),
    })


def reconstruct(ae, x):
    return ae["decoder"](ae["encoder"](x.flatten(1))).reshape(x.shape)


def gan_mlp_a():
    """GAN-MLP-A as Gan.generatorOf / discriminatorOf: z 64 -> 256 -> 512 -> 784 (LeakyReLU 0.1, Tanh);
    D: Flatten, 784 -> 256 -> 128 -> 1 (LeakyReLU 0.1, Sigmoid). Indices are the library's module names."""
    return nn.ModuleDict({
        "generator": nn.Sequential(nn.Linear(64, 256), nn.LeakyReLU(0.1), nn.Linear(256, 512), nn.LeakyReLU(0.1),
                                   nn.Linear(512, 784), nn.Tanh()),
        "discriminator": nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.LeakyReLU(0.1), nn.Linear(256, 128),
                                       nn.LeakyReLU(0.1), nn.Linear(128, 1), nn.Sigmoid()),
    })


# --- docs/pytorch.md: a library model file (safetensors) into a PyTorch model, without the safetensors package ---
SAFETENSORS_DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
                      "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
                      "U8": torch.uint8, "BOOL": torch.bool}


def load_safetensors(path):
    """{name: tensor} of a safetensors file (what safetensors.torch.load_file returns)."""
    with open(path, "rb") as f:
        header_length = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(header_length))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        dtype = SAFETENSORS_DTYPES[info["dtype"]]
        flat = torch.frombuffer(bytearray(data[start:end]), dtype=dtype) if end > start else torch.empty(0, dtype=dtype)
        tensors[name] = flat.reshape(info["shape"]).clone()
    return tensors
# --- end of docs/pytorch.md's lines ---


def write_import(out):
    torch.manual_seed(0)
    ae = ae_linear().eval()
    x = torch.rand(8, 1, 28, 28)
    with torch.no_grad():
        y = reconstruct(ae, x)
    torch.save(ae.state_dict(), f"{out}/ae-linear.pth")
    torch.save({"x": x, "y": y}, f"{out}/ae-linear-io.pth")

    gan = gan_mlp_a().eval()
    z = torch.randn(8, 64)
    images = torch.rand(8, 1, 28, 28) * 2 - 1
    with torch.no_grad():
        g = gan["generator"](z).reshape(8, 1, 28, 28)
        d = gan["discriminator"](images)
    torch.save(gan.state_dict(), f"{out}/gan-mlp.pth")
    torch.save({"z": z, "g": g, "x": images, "d": d}, f"{out}/gan-mlp-io.pth")


def write_mobilenet(out):
    """torchvision's MobileNetV2 (random weights, batch-norm statistics from one pass over random images) in eval mode:
    its state_dict as torchvision writes it, an input and its `features` output."""
    import torchvision
    torch.manual_seed(0)
    m = torchvision.models.mobilenet_v2(weights=None)
    for bn in m.modules():
        if isinstance(bn, nn.BatchNorm2d):
            bn.momentum = 1.0
    m.train()
    with torch.no_grad():
        m(torch.randn(4, 3, 96, 96))
    m.eval()
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        y = m.features(x)
    torch.save(m.state_dict(), f"{out}/mobilenet_v2.pth")
    torch.save({"x": x, "y": y}, f"{out}/mobilenet_v2-io.pth")


def export(model_file, inputs, out):
    ae = ae_linear().eval()
    ae.load_state_dict(load_safetensors(model_file))  # strict: every name of the file is one of the model's
    x = torch.load(inputs)["x"]
    with torch.no_grad():
        torch.save({"y": reconstruct(ae, x)}, out)


if __name__ == "__main__":
    if sys.argv[1] == "import":
        write_import(sys.argv[2])
    elif sys.argv[1] == "mobilenet":
        write_mobilenet(sys.argv[2])
    elif sys.argv[1] == "export":
        export(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(f"unknown mode {sys.argv[1]}")
