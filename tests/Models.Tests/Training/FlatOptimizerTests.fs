module Generative.Tests.Training.FlatOptimizerTests

open System.IO
open Expecto
open Generative.Tests
open TorchSharp
open Generative

/// A small network with parameters of several shapes: a convolution (4-D weight), linear layers, biases.
let private net () =
    let piece name (m: torch.nn.Module<Tensor, Tensor>) = name, m
    torch.nn.Sequential(
        piece "conv" (torch.nn.Conv2d(1L, 4L, 3L)), piece "relu" (torch.nn.ReLU()), piece "flat" (torch.nn.Flatten()),
        piece "hidden" (torch.nn.Linear(4L * 6L * 6L, 32L)), piece "tanh" (torch.nn.Tanh()),
        piece "out" (torch.nn.Linear(32L, 5L)))

/// Two networks with equal weights.
let private twins () =
    Device.seed 11L
    let a = net ()
    Device.seed 11L
    let b = net ()
    a, b

/// TorchSharp's own optimiser for a spec: the reference the flat ones must match.
let private reference (spec: OptimizerSpec) (parameters: Modules.Parameter seq) : Modules.OptimizerHelper =
    match spec with
    | Adam (lr, b1, b2, wd) -> torch.optim.Adam(parameters, lr, b1, b2, weight_decay = wd) :> _
    | Sgd (lr, m, nesterov, wd) -> torch.optim.SGD(parameters, lr, m, weight_decay = wd, nesterov = nesterov) :> _
    | RmsProp _ -> failwith "not a flat optimiser"

/// `steps` training steps of `model` with `optimizer` on the batches of seed `seed` (the same for every caller).
let private train (model: torch.nn.Module<Tensor, Tensor>) (optimizer: Modules.OptimizerHelper) (seed: int64) steps =
    let generator = new torch.Generator(uint64 seed)
    for _ in 1 .. steps do
        use x = torch.randn([| 8L; 1L; 8L; 8L |], generator = generator)
        use y = torch.randn([| 8L; 5L |], generator = generator)
        optimizer.zero_grad()
        use loss = (model.forward x - y).square().mean()
        loss.backward()
        optimizer.step() |> ignore

/// The largest absolute difference between the two networks' parameters.
let private largestDifference (a: torch.nn.Module) (b: torch.nn.Module) =
    Seq.zip (a.parameters()) (b.parameters())
    |> Seq.map (fun (x, y) -> use d = (x - y).abs().max() in d.ToDouble())
    |> Seq.max

/// Whether the parameters' gradients live in one buffer, one after another (the flat path is on).
let private gradientsShareOneBuffer (model: torch.nn.Module) =
    let ps = model.parameters() |> Seq.toArray
    let offsets = ps |> Array.map (fun p -> use g = p.grad in if isNull g then -1L else g.storage_offset())
    let expected = ps |> Array.scan (fun offset p -> offset + p.numel()) 0L |> Array.take ps.Length
    offsets = expected && offsets.Length > 1

/// Twin networks trained `steps` steps on the batches of seed 5, one by the library's optimiser for `spec`, the
/// other by TorchSharp's: (flat network, its optimiser, TorchSharp's network, its optimiser).
let private trainedSideBySide (spec: OptimizerSpec) steps =
    let a, b = twins ()
    let flat = Optim.create spec (a.parameters())
    let theirs = reference spec (b.parameters())
    train a flat 5L steps
    train b theirs 5L steps
    a, flat, b, theirs

/// Copies `source`'s parameters into `target`'s.
let private copyWeights (source: torch.nn.Module) (target: torch.nn.Module) =
    use _ = torch.no_grad()
    for (q, p) in Seq.zip (source.parameters()) (target.parameters()) do p.copy_(q) |> ignore

/// The optimiser state as TorchSharp writes it into a checkpoint.
let private stateBytes (optimizer: Modules.OptimizerHelper) =
    use stream = new MemoryStream()
    use writer = new BinaryWriter(stream)
    optimizer.save_state_dict writer
    writer.Flush()
    stream.ToArray()

/// Loads state `stateBytes` wrote into an optimiser.
let private loadState (optimizer: Modules.OptimizerHelper) (bytes: byte[]) =
    use reader = new BinaryReader(new MemoryStream(bytes))
    optimizer.load_state_dict reader |> ignore

/// Runs `f` with libtorch at `threads` threads, then puts the count back (the suite runs sequenced).
let private withThreads threads f =
    let before = torch.get_num_threads ()
    torch.set_num_threads threads
    try f () finally torch.set_num_threads before

let private specs =
    [ "Adam", Optim.adam 1e-3
      "Adam with weight decay and beta1 0.5", Adam(2e-3, 0.5, 0.99, 1e-2)
      "plain SGD", Sgd(0.05, 0.0, false, 0.0)
      "SGD with momentum", Optim.sgd 0.05 0.9
      "SGD with Nesterov momentum and weight decay", Sgd(0.05, 0.9, true, 1e-3) ]

[<Tests>]
let tests =
    testList "Training.FlatOptimizers" [
        for name, spec in specs do
            // One thread takes Adam's fused CPU step, two its tensor operations.
            for threads in [ 1; 2 ] do
                test (sprintf "%s over flat buffers gives TorchSharp's updates to 1e-6 over 100 steps at %d thread(s)" name threads) {
                    let a, _, b, _ = withThreads threads (fun () -> trainedSideBySide spec 100)
                    Expect.isTrue (gradientsShareOneBuffer a) "the flat optimiser's gradients live in one buffer"
                    let difference = largestDifference a b
                    Expect.isLessThanOrEqual difference 1e-6 "the parameters agree with TorchSharp's after 100 steps"
                    Expect.isGreaterThan (largestDifference a (net ())) 1e-3 "and training moved them"
                }

            test (sprintf "%s: the state is TorchSharp's, so checkpoints move between the flat and TorchSharp's optimiser" name) {
                let a, flat, b, theirs = trainedSideBySide spec 10
                // Same layout; the values can differ in the last bit when a parallel test changes the thread count
                // between the two runs' reductions, so they are compared through the continuations below.
                Expect.equal (stateBytes flat).Length (stateBytes theirs).Length "the same checkpoint layout"
                // Cross over: TorchSharp's optimiser continues from the flat one's state and vice versa.
                let flatToTheirs = reference spec (a.parameters())
                loadState flatToTheirs (stateBytes flat)
                let c = net ()
                copyWeights b c
                let theirsToFlat = Optim.create spec (c.parameters())
                loadState theirsToFlat (stateBytes theirs)
                train a flatToTheirs 6L 10
                train c theirsToFlat 6L 10
                train b theirs 6L 10
                Expect.isTrue (gradientsShareOneBuffer c) "the flat optimiser adopted the restored state"
                Expect.isLessThanOrEqual (largestDifference a b) 1e-6 "TorchSharp's optimiser continues the flat one's state"
                Expect.isLessThanOrEqual (largestDifference c b) 1e-6 "the flat optimiser continues TorchSharp's state"
            }

        test "two flat optimisers over overlapping parameters (an AAE's encoder) both update them as TorchSharp's do" {
            // Each optimiser's zero_grad points the shared parameters' gradients back into its own buffer.
            let a, b = twins ()
            let overlap (model: torch.nn.Module) = model.parameters() |> Seq.take 4 |> Seq.toArray
            let flatAll, flatPart = Optim.create (Optim.adam 1e-3) (a.parameters()), Optim.create (Optim.adam 1e-4) (overlap a)
            let theirsAll, theirsPart = reference (Optim.adam 1e-3) (b.parameters()), reference (Optim.adam 1e-4) (overlap b)
            for seed in 1L .. 20L do
                train a flatAll seed 1
                train a flatPart (seed + 100L) 1
                train b theirsAll seed 1
                train b theirsPart (seed + 100L) 1
            Expect.isLessThanOrEqual (largestDifference a b) 1e-6 "both optimisers' updates as TorchSharp's"
        }

        test "gradients a double-backward pass puts in new tensors are taken into the buffer, with TorchSharp's updates" {
            // With create_graph, autograd adds each gradient out of place: the parameter's gradient becomes a new
            // tensor outside the buffer, which the step must read.
            let a, b = twins ()
            let flat = Optim.create (Optim.adam 1e-3) (a.parameters())
            let theirs = reference (Optim.adam 1e-3) (b.parameters())
            for (model: torch.nn.Module<Tensor, Tensor>), optimizer in [ (a :> torch.nn.Module<Tensor, Tensor>), flat; (b :> _), theirs ] do
                let generator = new torch.Generator(7UL)
                for _ in 1 .. 5 do
                    use x = torch.randn([| 8L; 1L; 8L; 8L |], generator = generator)
                    optimizer.zero_grad()
                    use loss = model.forward(x).square().mean()
                    loss.backward(create_graph = true)
                    optimizer.step() |> ignore
            Expect.isLessThanOrEqual (largestDifference a b) 1e-6 "the same updates as TorchSharp's"
            Expect.isGreaterThan (largestDifference a (net ())) 1e-4 "and training moved the weights"
        }

        test "a parameter that does not train keeps the optimiser on TorchSharp's per-parameter path, with the same updates" {
            let a, b = twins ()
            for m in [ a; b ] do (m.parameters() |> Seq.head).requires_grad <- false
            let flat = Optim.create (Optim.adam 1e-3) (a.parameters())
            let theirs = reference (Optim.adam 1e-3) (b.parameters())
            train a flat 5L 20
            train b theirs 5L 20
            Expect.isFalse (gradientsShareOneBuffer a) "the gradients are not in a flat buffer"
            Expect.isLessThanOrEqual (largestDifference a b) 1e-6 "the same updates"
        }
    ]
