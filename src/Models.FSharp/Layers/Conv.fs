namespace Generative

open System
open TorchSharp

/// Convolutional layers as registered modules, to compose with `>->` like `Layers.*` (kept in their own module so
/// that other families can add layers to `Layers` without touching this file).
[<RequireQualifiedAccess>]
module Conv =
    let private positive (name: string) (v: int) = if v <= 0 then Errors.invalidArg name "a positive size" v
    let private nonNegative (name: string) (v: int) = if v < 0 then Errors.invalidArg name "a size >= 0" v

    /// 2-D convolution over [N, inputs, H, W] with a square `kernel`, `stride` and zero `padding`, initialised like
    /// PyTorch's nn.Conv2d. Output size per side: floor((H + 2 padding - kernel) / stride) + 1.
    let conv2d (inputs: int) (outputs: int) (kernel: int) (stride: int) (padding: int) : Net =
        positive "inputs" inputs; positive "outputs" outputs; positive "kernel" kernel; positive "stride" stride
        nonNegative "padding" padding
        torch.nn.Conv2d(int64 inputs, int64 outputs, int64 kernel, int64 stride, int64 padding) :> Net

    /// 2-D transposed convolution (the gradient of conv2d), initialised like PyTorch's nn.ConvTranspose2d.
    /// Output size per side: (H - 1) stride - 2 padding + kernel.
    let convTranspose2d (inputs: int) (outputs: int) (kernel: int) (stride: int) (padding: int) : Net =
        positive "inputs" inputs; positive "outputs" outputs; positive "kernel" kernel; positive "stride" stride
        nonNegative "padding" padding
        torch.nn.ConvTranspose2d(int64 inputs, int64 outputs, int64 kernel, int64 stride, int64 padding) :> Net

    /// Max pooling with a square window `kernel` moved by `stride`. Output size per side: floor((H - kernel) / stride) + 1.
    let maxPool2d (kernel: int) (stride: int) : Net =
        positive "kernel" kernel; positive "stride" stride
        torch.nn.MaxPool2d(int64 kernel, Nullable(int64 stride)) :> Net

    /// The side length after a convolution (or pooling) of a `size`-wide input: floor((size + 2 padding - kernel) / stride) + 1.
    let convolvedSize (size: int) (kernel: int) (stride: int) (padding: int) = (size + 2 * padding - kernel) / stride + 1

    /// The side length after a transposed convolution of a `size`-wide input: (size - 1) stride - 2 padding + kernel.
    let transposedSize (size: int) (kernel: int) (stride: int) (padding: int) = (size - 1) * stride - 2 * padding + kernel
