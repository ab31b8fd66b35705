module Generative.Tests.Layers.ChannelsLastTests

open Expecto
open Generative.Tests
open TorchSharp
open Generative

let private maxDifference (a: torch.Tensor) (b: torch.Tensor) = (a - b).abs().max().ToDouble()

/// Records, for every call of `net`'s child at `index`, whether its input was channels-last.
let private inputLayoutsOf (net: torch.nn.Module) (index: int) : ResizeArray<bool> =
    let seen = ResizeArray<bool>()
    let layer = net.children() |> Seq.item index :?> Net
    layer.register_forward_pre_hook(fun _ (x: torch.Tensor) -> seen.Add(ChannelsLast.isLayout x); x) |> ignore
    seen

/// `net`'s children run one after the other with the first one's output made channels-first again: the same layers
/// in the other layout (the hook sits on the first convolution only).
let private channelsFirstThrough (net: torch.nn.Module) (x: torch.Tensor) : torch.Tensor =
    // `call` runs each module with its hooks, as `Sequential` does (`forward` alone would skip them).
    let layers = net.children() |> Seq.map (fun l -> l :?> Net) |> Seq.toList
    layers.Tail |> List.fold (fun (h: torch.Tensor) l -> l.call h) ((layers.Head.call x).contiguous())

[<Tests>]
let tests =
    testList "Layers.ChannelsLast" [
        test "layout keeps the values and puts the channels innermost in memory" {
            use _ = torch.NewDisposeScope()
            let x = torch.randn([| 2L; 3L; 4L; 5L |])
            let y = ChannelsLast.layout x
            Expect.isFalse (ChannelsLast.isLayout x) "a fresh tensor is channels-first"
            Expect.isTrue (ChannelsLast.isLayout y) "channels-last after"
            Expect.equal y.shape x.shape "same shape"
            Expect.equal (maxDifference x y) 0.0 "same values"
        }

        test "flatten reads a channels-last tensor in channels-first order and hands its gradient back channels-last" {
            use _ = torch.NewDisposeScope()
            let x = torch.randn([| 2L; 3L; 4L; 5L |])
            let weights = torch.randn([| 2L; 60L |])
            let input = (ChannelsLast.layout x).detach().requires_grad_(true)
            let flat = ChannelsLast.flatten input
            Expect.equal (maxDifference flat (x.flatten(1L))) 0.0 "the channels-first flattening of the same values"
            // `autograd.grad` returns the gradient as the backward pass made it (a leaf's `.grad` is re-laid out to
            // match the leaf).
            let gradient = torch.autograd.grad([| (flat * weights).sum() |], [| input |]).[0]
            Expect.isTrue (ChannelsLast.isLayout gradient) "the gradient keeps the input's layout"
            Expect.equal (maxDifference gradient (weights.reshape(2L, 3L, 4L, 5L))) 0.0 "the gradient's values"
        }

        test "dropout draws the same mask for either layout, libtorch's for channels-first, and keeps channels-last" {
            use _ = torch.NewDisposeScope()
            let x = torch.randn([| 4L; 8L; 5L; 5L |])
            let dropout = Layers.dropout 0.5
            dropout.train()
            let drawn (seed: int64) (f: unit -> torch.Tensor) =
                torch.manual_seed seed |> ignore
                f ()
            let channelsFirst = drawn 3L (fun () -> dropout.forward x)
            let channelsLast = drawn 3L (fun () -> dropout.forward (ChannelsLast.layout x))
            let libtorch = drawn 3L (fun () -> torch.nn.functional.dropout(x, 0.5, true))
            Expect.equal (maxDifference channelsFirst channelsLast) 0.0 "the same elements zeroed and scaled"
            Expect.equal (maxDifference channelsFirst libtorch) 0.0 "libtorch's dropout on the channels-first input"
            Expect.isTrue (ChannelsLast.isLayout channelsLast) "the output stays channels-last"
        }

        test "the batch-norm CNN runs channels-last after its first convolution and computes what channels-first does" {
            use _ = torch.NewDisposeScope()
            torch.manual_seed 0L |> ignore
            let m = Classifier.create Classifier.batchNormCnn
            let first = m.Features.children() |> Seq.head :?> Net
            m.Features.eval()
            use _ = torch.no_grad()
            let x = torch.randn([| 8L; 1L; 28L; 28L |])
            Expect.isTrue (ChannelsLast.isLayout (first.call x)) "the first convolution's output is channels-last"
            let channelsFirst = channelsFirstThrough m.Features x
            let expected = m.Features.forward x
            Expect.isLessThan (maxDifference expected channelsFirst) 1e-4 "the same features in either layout"
        }
    ]

[<Tests>]
let convAutoencoderTests =
    testList "Layers.ChannelsLast in AE-CONV" [
        test "both halves of AE-CONV run channels-last and the code is the channels-first flattening" {
            use _ = torch.NewDisposeScope()
            torch.manual_seed 0L |> ignore
            let network = ConvAutoencoder.network ConvAutoencoder.source
            let encoderSecond = inputLayoutsOf network.Encoder 3
            let decoderFirst = inputLayoutsOf network.Decoder 0
            use _ = torch.no_grad()
            let x = torch.randn([| 4L; 1L; 28L; 28L |])
            let code = network.Encode x
            network.Decode code |> ignore
            Expect.sequenceEqual encoderSecond [ true ] "the encoder's second convolution reads channels-last"
            Expect.sequenceEqual decoderFirst [ true ] "the decoder's first layer reads channels-last"
            let channelsFirst = channelsFirstThrough network.Encoder x
            Expect.isLessThan (maxDifference code (channelsFirst.flatten(1L))) 1e-5 "the code's values in channels-first order"
        }
    ]

[<Tests>]
let dcganTests =
    testList "Layers.ChannelsLast in the DCGANs" [
        test "D runs channels-last after its first convolution and G from its reshape on" {
            use _ = torch.NewDisposeScope()
            torch.manual_seed 0L |> ignore
            let gan = Gan.create Gan.dcganA
            // D: conv, leaky ReLU, pool, conv (3); G: linear, ReLU, BN, linear, ReLU, BN, reshape, transposed conv (7).
            let discriminatorSecond = inputLayoutsOf gan.Discriminator 3
            let generatorConvolution = inputLayoutsOf gan.Generator 7
            gan.Generator.eval()
            gan.Discriminator.eval()
            use _ = torch.no_grad()
            let images = gan.Generator.call (torch.randn([| 4L; int64 gan.Config.LatentSize |]))
            gan.Discriminator.call images |> ignore
            Expect.sequenceEqual discriminatorSecond [ true ] "D's second convolution reads channels-last"
            Expect.sequenceEqual generatorConvolution [ true ] "G's first transposed convolution reads channels-last"
        }

        test "DCGAN-B's G upsamples channels-last from its reshape on" {
            use _ = torch.NewDisposeScope()
            torch.manual_seed 0L |> ignore
            let gan = Gan.create Gan.dcganB
            // linear, tanh, linear, batch norm, tanh, reshape, upsampling (6).
            let seen = inputLayoutsOf gan.Generator 6
            gan.Generator.eval()
            use _ = torch.no_grad()
            gan.Generator.call (Gan.noiseWith null gan.Config torch.CPU 4L) |> ignore
            Expect.sequenceEqual seen [ true ] "the upsampling reads channels-last"
        }
    ]
