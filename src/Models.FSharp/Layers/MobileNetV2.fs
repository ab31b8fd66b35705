namespace Generative

open System
open System.IO
open TorchSharp

/// An inverted residual block (Sandler et al., 2018): `conv` is expand 1x1 -> depthwise 3x3 -> project 1x1; the input
/// is added back when the block keeps the shape (stride 1, same channels). The field name gives torchvision's
/// parameter names (`conv.0.0.weight`, ...).
type internal InvertedResidual(conv: Net, residual: bool) =
    inherit torch.nn.Module<Tensor, Tensor>("InvertedResidual")
    do base.register_module("conv", conv)
    // `call`, not `forward`, so the child's forward hooks (mixed precision's casts) run.
    override _.forward(x) = if residual then x + conv.call(x) else conv.call(x)

/// MobileNetV2 (Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks", 2018) as torchvision builds
/// it, with the same parameter names, so torchvision's ImageNet weights load by name; and the loader for them.
[<RequireQualifiedAccess>]
module MobileNetV2 =
    /// Channels of the backbone's last feature map (what global average pooling returns per image).
    let featureChannels = 1280

    /// torchvision's block table: expansion t, output channels c, repeats n, first stride s.
    let private settings = [ 1, 16, 1, 1; 6, 24, 2, 2; 6, 32, 3, 2; 6, 64, 4, 2; 6, 96, 3, 1; 6, 160, 3, 2; 6, 320, 1, 1 ]

    let private convBnRelu6 (inputs: int) (outputs: int) (kernel: int) (stride: int) (groups: int) : Net =
        Layers.named
            [ "0", torch.nn.Conv2d(int64 inputs, int64 outputs, int64 kernel, stride = int64 stride, padding = int64 ((kernel - 1) / 2),
                                   groups = int64 groups, bias = false, device = Device.forNewLayers ()) :> Net
              "1", torch.nn.BatchNorm2d(int64 outputs, device = Device.forNewLayers ()) :> Net
              "2", torch.nn.ReLU6() :> Net ]

    let private block (inputs: int) (outputs: int) (stride: int) (expansion: int) : Net =
        let hidden = inputs * expansion
        let expand = if expansion = 1 then [] else [ convBnRelu6 inputs hidden 1 1 1 ]
        let pieces =
            expand
            @ [ convBnRelu6 hidden hidden 3 stride hidden
                torch.nn.Conv2d(int64 hidden, int64 outputs, 1L, bias = false, device = Device.forNewLayers ()) :> Net
                torch.nn.BatchNorm2d(int64 outputs, device = Device.forNewLayers ()) :> Net ]
        let conv = Layers.named (pieces |> List.mapi (fun i m -> string i, m))
        new InvertedResidual(conv, (stride = 1 && inputs = outputs)) :> Net

    /// The feature extractor (torchvision's `features`, width 1.0): [N, 3, H, W] -> [N, 1280, H/32, W/32]. Its
    /// state names are torchvision's without the `features.` prefix. Initialised from the global generator.
    let backbone () : Net =
        let blocks =
            settings
            |> List.scan (fun (_, inputs) (t, c, n, s) -> [ for i in 0 .. n - 1 -> (if i = 0 then inputs else c), c, (if i = 0 then s else 1), t ], c) ([], 32)
            |> List.collect fst
        let layers =
            [ convBnRelu6 3 32 3 2 1 ]
            @ (blocks |> List.map (fun (i, o, s, t) -> block i o s t))
            @ [ convBnRelu6 320 featureChannels 1 1 1 ]
        Layers.named (layers |> List.mapi (fun i m -> string i, m))

    /// How to make the weights file this loader reads (torchvision and safetensors on any machine with internet).
    let exportRecipe =
        "python3 -c \"import torchvision, safetensors.torch as st; "
        + "m = torchvision.models.mobilenet_v2(weights='IMAGENET1K_V1'); "
        + "st.save_file({k: v.contiguous() for k, v in m.state_dict().items()}, 'mobilenet_v2-imagenet.safetensors')\""

    /// Copies torchvision MobileNetV2 weights into `backbone`: torchvision's own checkpoint (`mobilenet_v2-b0353104.pth`,
    /// a PyTorch state dict, recognised by its content whatever its extension: see `PyTorchWeights`) or a safetensors
    /// file of `model.state_dict()` (`exportRecipe`). Every
    /// `features.*` tensor the backbone has must be in the file with its shape (`num_batches_tracked` counters are
    /// optional); `classifier.*` (the ImageNet head) is ignored; any other name is an error. Errors name the file and
    /// the tensor.
    let loadImageNet (path: string) (backbone: Net) =
        if not (File.Exists path) then
            raise (FileNotFoundException(
                sprintf "%s: MobileNetV2 ImageNet weights not found. No package registry ships them; download torchvision's checkpoint (mobilenet_v2-b0353104.pth, what torchvision.models.mobilenet_v2(weights='IMAGENET1K_V1') fetches) on a machine with internet, or export them with:\n  %s\nthen copy the file here or pass --set weights=<file>." path exportRecipe, path))
        let expected = [ for KeyValue (k, t) in backbone.state_dict() -> "features." + k, t ]
        let saved = PyTorchWeights.readAny path
        try
            let byName = dict saved
            use _ = torch.no_grad()
            for (name, target) in expected do
                match byName.TryGetValue name with
                | true, t when t.shape <> target.shape ->
                    raise (InvalidDataException(sprintf "%s: tensor '%s' has shape %A but MobileNetV2 expects %A" path name t.shape target.shape))
                | true, t -> target.copy_(t) |> ignore
                | false, _ when name.EndsWith ".num_batches_tracked" -> ()
                | false, _ ->
                    raise (InvalidDataException(sprintf "%s: tensor '%s' is missing: is this torchvision's mobilenet_v2 state_dict?" path name))
            let known = expected |> List.map fst |> Set.ofList
            match saved |> List.map fst |> List.tryFind (fun n -> not (known.Contains n || n.StartsWith "classifier.")) with
            | Some extra -> raise (InvalidDataException(sprintf "%s: unexpected tensor '%s' for MobileNetV2 (width 1.0)" path extra))
            | None -> ()
        finally
            for (_, t) in saved do t.Dispose()

    /// ImageNet statistics of torchvision's pretrained weights (per RGB channel).
    let private imageNetMean = [| 0.485f; 0.456f; 0.406f |]
    let private imageNetStd = [| 0.229f; 0.224f; 0.225f |]

    /// The transfer recipe's input: grey images [N, 1, 28, 28] with pixels in [0, 1], resized (bilinear) to
    /// `size` x `size`, the grey channel copied to R, G and B, then standardised with the ImageNet mean and std.
    let toImageNetInput (size: int) (images: Tensor) : Tensor =
        use _ = torch.NewDisposeScope()
        let resized = torch.nn.functional.interpolate(images, [| int64 size; int64 size |], mode = torch.InterpolationMode.Bilinear, align_corners = false)
        let rgb = resized.expand(-1L, 3L, -1L, -1L)
        let mean = torch.tensor(imageNetMean).reshape(1L, 3L, 1L, 1L).``to``(images.device)
        let std = torch.tensor(imageNetStd).reshape(1L, 3L, 1L, 1L).``to``(images.device)
        ((rgb - mean) / std).MoveToOuterDisposeScope()
