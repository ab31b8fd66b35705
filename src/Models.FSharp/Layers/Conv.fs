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
        torch.nn.Conv2d(int64 inputs, int64 outputs, int64 kernel, int64 stride, int64 padding, device = Device.forNewLayers ()) :> Net

    /// 2-D transposed convolution (the gradient of conv2d), initialised like PyTorch's nn.ConvTranspose2d.
    /// Output size per side: (H - 1) stride - 2 padding + kernel.
    let convTranspose2d (inputs: int) (outputs: int) (kernel: int) (stride: int) (padding: int) : Net =
        positive "inputs" inputs; positive "outputs" outputs; positive "kernel" kernel; positive "stride" stride
        nonNegative "padding" padding
        torch.nn.ConvTranspose2d(int64 inputs, int64 outputs, int64 kernel, int64 stride, int64 padding, device = Device.forNewLayers ()) :> Net

    /// Max pooling with a square window `kernel` moved by `stride`. Output size per side: floor((H - kernel) / stride) + 1.
    let maxPool2d (kernel: int) (stride: int) : Net =
        positive "kernel" kernel; positive "stride" stride
        torch.nn.MaxPool2d(int64 kernel, Nullable(int64 stride)) :> Net

    /// The side length after a convolution (or pooling) of a `size`-wide input: floor((size + 2 padding - kernel) / stride) + 1.
    let convolvedSize (size: int) (kernel: int) (stride: int) (padding: int) = (size + 2 * padding - kernel) / stride + 1

    /// The side length after a transposed convolution of a `size`-wide input: (size - 1) stride - 2 padding + kernel.
    let transposedSize (size: int) (kernel: int) (stride: int) (padding: int) = (size - 1) * stride - 2 * padding + kernel

    /// 2-D convolution whose output keeps the input's height and width (Keras `padding="same"`, odd kernels).
    let conv2dSame (inputs: int) (outputs: int) (kernel: int) : Net =
        if kernel % 2 = 0 then Errors.invalidArg "kernel" "an odd kernel size for 'same' padding" kernel
        conv2d inputs outputs kernel 1 (kernel / 2)

    /// Nearest-neighbour upsampling by an integer factor (Keras UpSampling2D).
    let upsample (factor: int) : Net =
        positive "factor" factor
        torch.nn.Upsample(scale_factor = [| float factor; float factor |]) :> Net

    /// Batch normalisation over the features of [N, F] inputs (Ioffe & Szegedy, 2015). `momentum` is PyTorch's
    /// (weight of the new batch in the running statistics: 0.1 in PyTorch, 0.01 for Keras' 0.99).
    let batchNorm1d (features: int) (eps: float) (momentum: float) : Net =
        positive "features" features
        torch.nn.BatchNorm1d(int64 features, eps = eps, momentum = momentum, device = Device.forNewLayers ()) :> Net

    /// Batch normalisation over the channels of [N, C, H, W] inputs (PyTorch momentum convention, see batchNorm1d).
    let batchNorm2d (channels: int) (eps: float) (momentum: float) : Net =
        positive "channels" channels
        torch.nn.BatchNorm2d(int64 channels, eps = eps, momentum = momentum, device = Device.forNewLayers ()) :> Net

    /// Re-initialises every linear and convolution layer of a network as Keras does by default: Glorot-uniform
    /// weights (Glorot & Bengio, 2010), zero biases. Uses the global generator.
    let glorotInit (net: Net) : Net =
        use _ = torch.no_grad()
        for struct (_, m) in net.named_modules() do
            match m with
            | :? Modules.Linear | :? Modules.Conv2d | :? Modules.ConvTranspose2d ->
                for struct (name, p) in m.named_parameters(false) do
                    if name = "weight" then torch.nn.init.xavier_uniform_(p) |> ignore
                    elif name = "bias" then p.zero_() |> ignore
            | _ -> ()
        net
