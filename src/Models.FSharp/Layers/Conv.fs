namespace Generative

open TorchSharp

/// Convolutional pieces as registered modules (image tensors are [N, C, H, W]).
[<RequireQualifiedAccess>]
module Conv =
    let private positive (name: string) (v: int) = if v <= 0 then Errors.invalidArg name "a positive size" v

    /// 2-D convolution with a square kernel; `padding` pixels of zeros on each side (PyTorch's nn.Conv2d).
    let conv2d (inputs: int) (outputs: int) (kernel: int) (stride: int) (padding: int) : Net =
        positive "inputs" inputs; positive "outputs" outputs; positive "kernel" kernel; positive "stride" stride
        if padding < 0 then Errors.invalidArg "padding" "a padding >= 0" padding
        torch.nn.Conv2d(int64 inputs, int64 outputs, int64 kernel, stride = int64 stride, padding = int64 padding) :> Net

    /// 2-D convolution whose output keeps the input's height and width (Keras `padding="same"`, odd kernels).
    let conv2dSame (inputs: int) (outputs: int) (kernel: int) : Net =
        if kernel % 2 = 0 then Errors.invalidArg "kernel" "an odd kernel size for 'same' padding" kernel
        conv2d inputs outputs kernel 1 (kernel / 2)

    /// Transposed 2-D convolution (PyTorch's nn.ConvTranspose2d): output size (in - 1)·stride - 2·padding + kernel.
    let convTranspose2d (inputs: int) (outputs: int) (kernel: int) (stride: int) (padding: int) : Net =
        positive "inputs" inputs; positive "outputs" outputs; positive "kernel" kernel; positive "stride" stride
        if padding < 0 then Errors.invalidArg "padding" "a padding >= 0" padding
        torch.nn.ConvTranspose2d(int64 inputs, int64 outputs, int64 kernel, stride = int64 stride, padding = int64 padding) :> Net

    /// Max pooling over non-overlapping `size`×`size` windows.
    let maxPool2d (size: int) : Net =
        positive "size" size
        torch.nn.MaxPool2d(int64 size, stride = System.Nullable(int64 size)) :> Net

    /// Nearest-neighbour upsampling by an integer factor (Keras UpSampling2D).
    let upsample (factor: int) : Net =
        positive "factor" factor
        torch.nn.Upsample(scale_factor = [| float factor; float factor |]) :> Net

    /// Batch normalisation over the features of [N, F] inputs (Ioffe & Szegedy, 2015). `momentum` is PyTorch's
    /// (weight of the new batch in the running statistics: 0.1 in PyTorch, 0.01 for Keras' 0.99).
    let batchNorm1d (features: int) (eps: float) (momentum: float) : Net =
        positive "features" features
        torch.nn.BatchNorm1d(int64 features, eps = eps, momentum = momentum) :> Net

    /// Batch normalisation over the channels of [N, C, H, W] inputs (PyTorch momentum convention, see batchNorm1d).
    let batchNorm2d (channels: int) (eps: float) (momentum: float) : Net =
        positive "channels" channels
        torch.nn.BatchNorm2d(int64 channels, eps = eps, momentum = momentum) :> Net

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
