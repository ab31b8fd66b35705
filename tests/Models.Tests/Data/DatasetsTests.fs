module Generative.Tests.Data.DatasetsTests

open System
open System.IO
open Expecto
open Generative.Tests
open TorchSharp
open Generative

/// A fresh temporary folder.
let tempDir () =
    let d = Path.Combine(Path.GetTempPath(), "generative-data-tests-" + Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory d |> ignore
    d

/// Runs `f` with a temporary folder that is deleted afterwards.
let withTemp (f: string -> 'a) =
    let d = tempDir ()
    try f d finally (try Directory.Delete(d, true) with _ -> ())

/// Writes a small MNIST-layout data set (train 12, test 5 images of 6x5 pixels, labels 0..classes-1) with
/// the standard names into `dir`, gzip-compressed or not. Pixel 0 of image 0 is 0 and pixel 1 is 255 so the
/// normalised range is known. Returns the (file name, uncompressed bytes) written.
let writeSmallDataset (dir: string) (gzip: bool) (classes: int) : (string * byte[]) list =
    let rng = Random(42)
    let images n =
        let data = Array.zeroCreate<byte> (n * 6 * 5)
        rng.NextBytes data
        data.[0] <- 0uy
        data.[1] <- 255uy
        { Dims = [| n; 6; 5 |]; Data = data }
    let labels n = { Dims = [| n |]; Data = Array.init n (fun i -> byte (i % classes)) }
    [ "train-images-idx3-ubyte", images 12
      "train-labels-idx1-ubyte", labels 12
      "t10k-images-idx3-ubyte", images 5
      "t10k-labels-idx1-ubyte", labels 5 ]
    |> List.map (fun (name, arr) ->
        Idx.write (Path.Combine(dir, if gzip then name + ".gz" else name)) arr gzip
        name, Idx.toBytes arr)

let private minMax (t: torch.Tensor) = t.min().ToSingle(), t.max().ToSingle()

[<Tests>]
let tests =
    testList "Data.Datasets" [
        test "a small raw data set loads with the right shapes, dtypes and [0,1] range" {
            withTemp (fun dir ->
                writeSmallDataset dir false 10 |> ignore
                use ds = Datasets.mnist dir ZeroOne
                Expect.equal ds.Train.Images.shape [| 12L; 1L; 6L; 5L |] "train images [N,1,H,W]"
                Expect.equal ds.Test.Images.shape [| 5L; 1L; 6L; 5L |] "test images"
                Expect.equal ds.Train.Labels.shape [| 12L |] "train labels [N]"
                Expect.equal ds.Train.Count 12L "Count"
                Expect.equal ds.Train.Images.dtype torch.ScalarType.Float32 "float32 images"
                Expect.equal ds.Train.Labels.dtype torch.ScalarType.Int64 "int64 labels"
                Expect.equal (minMax ds.Train.Images) (0.0f, 1.0f) "pixels 0 and 255 map to 0 and 1"
                Expect.equal (ds.Train.Labels.[3L].ToInt64()) 3L "labels kept"
                Expect.equal ds.Classes Datasets.mnistClasses "digit classes"
                Expect.equal ds.Files.Length 4 "four files recorded"
                for path, sha in ds.Files do
                    Expect.equal sha (Datasets.sha256Hex (File.ReadAllBytes path)) "sha256 of the file read")
        }

        test "gzip files load identically, and normalisations give the documented ranges" {
            withTemp (fun dir ->
                writeSmallDataset dir true 10 |> ignore
                use zeroOne = Datasets.fashionMnist dir ZeroOne
                use pm = Datasets.fashionMnist dir MinusOneToOne
                use ms = Datasets.fashionMnist dir Transforms.mnistMeanStd
                Expect.equal pm.Classes.Length 10 "Fashion-MNIST classes"
                Expect.equal pm.Classes.[7] "Sneaker" "label 7 is Sneaker"
                Expect.equal pm.Classes.[9] "Ankle boot" "label 9 is Ankle boot"
                Expect.equal (minMax pm.Train.Images) (-1.0f, 1.0f) "[-1,1]"
                let lo, hi = minMax ms.Train.Images
                Expect.floatClose Accuracy.medium (float lo) ((0.0 - 0.1307) / 0.3081) "mean/std low"
                Expect.floatClose Accuracy.medium (float hi) ((1.0 - 0.1307) / 0.3081) "mean/std high"
                use back = Transforms.denormalize ms.Normalization ms.Train.Images
                Expect.isTrue (torch.allclose(back, zeroOne.Train.Images, 1e-5, 1e-6)) "denormalize inverts"
                for path, _ in zeroOne.Files do Expect.stringEnds path ".gz" "the .gz files were used")
        }

        test "a label out of range is an error naming the label file" {
            withTemp (fun dir ->
                writeSmallDataset dir false 10 |> ignore
                let labels = Path.Combine(dir, "t10k-labels-idx1-ubyte")
                Idx.write labels { Dims = [| 5 |]; Data = [| 0uy; 1uy; 10uy; 2uy; 3uy |] } false
                let e = Expect.throwsC (fun () -> Datasets.mnist dir ZeroOne |> ignore) id
                Expect.isTrue (e :? InvalidDataException) "InvalidDataException"
                Expect.stringContains e.Message labels "names the file"
                Expect.stringContains e.Message "label 10 is out of range" "says what is wrong")
        }

        test "image and label counts must agree" {
            withTemp (fun dir ->
                writeSmallDataset dir false 10 |> ignore
                let labels = Path.Combine(dir, "train-labels-idx1-ubyte")
                Idx.write labels { Dims = [| 11 |]; Data = Array.zeroCreate 11 } false
                let e = Expect.throwsC (fun () -> Datasets.mnist dir ZeroOne |> ignore) id
                Expect.stringContains e.Message labels "names the label file"
                Expect.stringContains e.Message "11 labels" "gives the counts")
        }

        test "a damaged file is the reader's InvalidDataException naming it, not an AggregateException from the parallel read" {
            for name in Datasets.standardFileNames do
                withTemp (fun dir ->
                    writeSmallDataset dir false 10 |> ignore
                    let path = Path.Combine(dir, name)
                    let bytes = File.ReadAllBytes path
                    File.WriteAllBytes(path, bytes.[.. bytes.Length - 2])
                    Expect.throwsT<InvalidDataException> (fun () -> Datasets.mnist dir ZeroOne |> ignore) (name + ": the named exception itself")
                    let e = Generative.Tests.TestData.raises<InvalidDataException> (fun () -> Datasets.mnist dir ZeroOne |> ignore)
                    Expect.stringContains e.Message (path + ": truncated") (name + ": names the file and the problem"))
        }

        test "train and test images of different sizes, or without pixels, are rejected naming the file" {
            withTemp (fun dir ->
                writeSmallDataset dir false 10 |> ignore
                let test = Path.Combine(dir, "t10k-images-idx3-ubyte")
                Idx.write test { Dims = [| 5; 5; 6 |]; Data = Array.zeroCreate 150 } false
                let e = Generative.Tests.TestData.raises<InvalidDataException> (fun () -> Datasets.mnist dir ZeroOne |> ignore)
                Expect.stringContains e.Message (test + ": images are 5x6 pixels but") "names the file and both sizes"
                Idx.write test { Dims = [| 5; 0; 6 |]; Data = [||] } false
                let e = Generative.Tests.TestData.raises<InvalidDataException> (fun () -> Datasets.mnist dir ZeroOne |> ignore)
                Expect.stringContains e.Message (test + ": images of 0x6 pixels") "no pixels")
        }

        test "a missing file is FileNotFoundException naming both names tried" {
            withTemp (fun dir ->
                writeSmallDataset dir false 10 |> ignore
                File.Delete(Path.Combine(dir, "t10k-images-idx3-ubyte"))
                let e = Expect.throwsC (fun () -> Datasets.mnist dir ZeroOne |> ignore) id
                Expect.isTrue (e :? FileNotFoundException) "FileNotFoundException"
                Expect.stringContains e.Message "t10k-images-idx3-ubyte.gz" "mentions the .gz name too")
        }

        test "an images file given as labels is rejected" {
            withTemp (fun dir ->
                writeSmallDataset dir false 10 |> ignore
                let p n = Path.Combine(dir, n)
                let e =
                    Expect.throwsC (fun () ->
                        Datasets.fromIdxFiles "x" Datasets.mnistClasses ZeroOne
                            (p "train-images-idx3-ubyte", p "train-images-idx3-ubyte", p "t10k-images-idx3-ubyte", p "t10k-labels-idx1-ubyte")
                        |> ignore) id
                Expect.stringContains e.Message "expected a label file" "explains")
        }

        test "a bad MeanStd is an argument error before any file is read" {
            Expect.throwsT<ArgumentException> (fun () -> Datasets.mnist "/nonexistent" (MeanStd(0.0, 0.0)) |> ignore) "std 0"
        }

        test "real MNIST from the cache loads fast with the published label counts" {
            match Fetch.locate "mnist" None with
            | None -> skiptest "MNIST is not in the cache; run ./generative data fetch mnist"
            | Some folder ->
                // Warm-up load (page cache, JIT), then the best of three timed loads.
                let first = Diagnostics.Stopwatch.StartNew()
                (Datasets.mnist folder ZeroOne :> IDisposable).Dispose()
                printfn "MNIST first load in this process (JIT included): %d ms" first.ElapsedMilliseconds
                let times =
                    [ for _ in 1..3 ->
                        let sw = Diagnostics.Stopwatch.StartNew()
                        use ds = Datasets.mnist folder Transforms.mnistMeanStd
                        sw.Stop()
                        sw.Elapsed.TotalMilliseconds ]
                use ds = Datasets.mnist folder ZeroOne
                printfn "MNIST load (60000+10000 images, sha256 included): best %.0f ms of %A" (List.min times) (times |> List.map int)
                Expect.equal ds.Train.Images.shape [| 60000L; 1L; 28L; 28L |] "train shape"
                Expect.equal ds.Test.Images.shape [| 10000L; 1L; 28L; 28L |] "test shape"
                use trainCounts = ds.Train.Labels.bincount(null)
                use testCounts = ds.Test.Labels.bincount(null)
                Expect.equal (trainCounts.data<int64>().ToArray()) [| 5923L; 6742L; 5958L; 6131L; 5842L; 5421L; 5918L; 6265L; 5851L; 5949L |] "train counts"
                Expect.equal (testCounts.data<int64>().ToArray()) [| 980L; 1135L; 1032L; 1010L; 982L; 892L; 958L; 1028L; 974L; 1009L |] "test counts"
                let expected = (Fetch.find "mnist").Files |> List.map (fun f -> f.Sha256)
                Expect.equal (ds.Files |> List.map snd) expected "sha256 of the files used matches the known table"
                Expect.isLessThan (List.min times) 3000.0 "well under a second on an idle machine; 3 s allows for a busy one"
        }
    ]

[<Tests>]
let catalogTests =
    testList "Data.DatasetCatalog" [
        test "every data set is found by its name, whatever the case, and names its classes" {
            for d in DatasetCatalog.all do
                Expect.equal (DatasetCatalog.find (d.Name.ToUpperInvariant())).Name d.Name d.Name
                let classes = if DatasetCatalog.isText d then 0 else 10
                Expect.equal (DatasetCatalog.classes d).Length classes (sprintf "%s: %d classes" d.Name classes)
            Expect.equal (DatasetCatalog.classes DatasetCatalog.fashionMnist).[0] "T-shirt/top" "Fashion-MNIST's class 0"
        }

        test "an unknown data set is an error naming the setting and the names there are, before any file is read" {
            let e = Generative.Tests.TestData.raises<ArgumentException> (fun () -> DatasetCatalog.find "cifar-10" |> ignore)
            Expect.equal e.ParamName "dataset" "ParamName"
            Expect.stringContains e.Message "mnist or fashion-mnist" "lists the names"
            let s = { Experiment.defaults "ae-linear" with Dataset = "cifar-10" }
            let e = Generative.Tests.TestData.raises<ArgumentException> (fun () -> Experiment.loadData s |> ignore)
            Expect.equal e.ParamName "dataset" "a run names it too"
        }
    ]
