namespace Generative

open System
open System.IO
open System.Runtime.ExceptionServices
open System.Security.Cryptography
open TorchSharp

/// One part (train or test) of an image data set, preloaded on the CPU.
type Split =
    { /// [N,1,H,W] float32 images, normalised with the data set's Normalization.
      Images: Tensor
      /// [N] int64 class indices.
      Labels: Tensor }

    /// Number of samples N.
    member this.Count: int64 = this.Labels.shape.[0]

    interface IDisposable with
        /// Frees both tensors' native memory now rather than at the next garbage collection.
        member this.Dispose() =
            this.Images.Dispose()
            this.Labels.Dispose()

/// A labelled image data set with train and test splits, and where its bytes came from.
type ImageDataset =
    { /// Display name, e.g. "MNIST".
      Name: string
      /// The training split.
      Train: Split
      /// The test split.
      Test: Split
      /// The normalisation applied to Train.Images and Test.Images.
      Normalization: Normalization
      /// Class names, indexed by label value.
      Classes: string list
      /// Every file read, as (path, sha256 hex of its uncompressed bytes), for run reports.
      Files: (string * string) list }

    interface IDisposable with
        /// Frees the tensors of both splits.
        member this.Dispose() =
            (this.Train :> IDisposable).Dispose()
            (this.Test :> IDisposable).Dispose()

/// Loading IDX image data sets (MNIST, Fashion-MNIST, or any data set in the same layout) into CPU tensors.
[<RequireQualifiedAccess>]
module Datasets =
    /// MNIST's class names: the digits "0" to "9".
    let mnistClasses = [ for d in 0..9 -> string d ]

    /// Fashion-MNIST's class names, indexed by label.
    let fashionMnistClasses =
        [ "T-shirt/top"; "Trouser"; "Pullover"; "Dress"; "Coat"; "Sandal"; "Shirt"; "Sneaker"; "Bag"; "Ankle boot" ]

    /// The four standard file names (without a .gz suffix): train images, train labels, test images, test labels.
    let standardFileNames =
        [ "train-images-idx3-ubyte"; "train-labels-idx1-ubyte"; "t10k-images-idx3-ubyte"; "t10k-labels-idx1-ubyte" ]

    /// The path of `fileName` in `folder`, uncompressed or with a .gz suffix (the uncompressed copy wins,
    /// as it loads faster). FileNotFoundException lists both paths tried.
    let resolveFile (folder: string) (fileName: string) : string =
        let raw = Path.Combine(folder, fileName)
        let gz = raw + ".gz"
        if File.Exists raw then raw
        elif File.Exists gz then gz
        else raise (FileNotFoundException(sprintf "%s: file not found (also tried %s)" raw gz, raw))

    /// Lowercase hex sha256 of bytes.
    let sha256Hex (bytes: byte[]) : string = Convert.ToHexStringLower(SHA256.HashData(bytes))

    let private load (path: string) =
        // readIdxBytes checks a gzip file's IDX header against its trailer before inflating it.
        let bytes = Idx.readIdxBytes path
        // Hashing the bytes already in memory costs ~40 ms for all of MNIST: cheap enough to do on every load,
        // so a run report always names exactly the data it used.
        let hash = sha256Hex bytes
        Idx.parse bytes path, hash

    /// Checks that `arr` is a stack of images [N,H,W] with at least one pixel each.
    let private checkImages (path: string) (arr: IdxArray) =
        if arr.Dims.Length <> 3 then
            raise (InvalidDataException(sprintf "%s: expected an image file with 3 dimensions [N,H,W] but found %d" path arr.Dims.Length))
        if arr.Dims.[1] = 0 || arr.Dims.[2] = 0 then
            raise (InvalidDataException(sprintf "%s: images of %dx%d pixels: an image needs at least one pixel" path arr.Dims.[1] arr.Dims.[2]))

    let private imagesTensor (path: string) (arr: IdxArray) (normalization: Normalization) : Tensor =
        checkImages path arr
        use _ = torch.NewDisposeScope()
        // One native copy of the whole byte array, one conversion, one in-place scale: no per-sample work.
        let bytes = torch.tensor(arr.Data).reshape(int64 arr.Dims.[0], 1L, int64 arr.Dims.[1], int64 arr.Dims.[2])
        let unit = bytes.to_type(torch.ScalarType.Float32)
        use scale = (1.0f / 255.0f).ToScalar()
        unit.mul_(scale) |> ignore
        // In place: a second full-size tensor would double the load time (see Transforms.normalizeInPlace).
        Transforms.normalizeInPlace normalization unit
        unit.MoveToOuterDisposeScope()

    let private labelsTensor (path: string) (arr: IdxArray) (classCount: int) : Tensor =
        if arr.Dims.Length <> 1 then
            raise (InvalidDataException(sprintf "%s: expected a label file with 1 dimension but found %d" path arr.Dims.Length))
        if arr.Data.Length > 0 then
            let maxLabel = int (Array.max arr.Data)
            if maxLabel >= classCount then
                raise (InvalidDataException(sprintf "%s: label %d is out of range: the data set has %d classes (labels 0 to %d)" path maxLabel classCount (classCount - 1)))
        use bytes = torch.tensor(arr.Data)
        bytes.to_type(torch.ScalarType.Int64)

    let private split (imagesPath: string) (images: IdxArray) (labelsPath: string) (labels: IdxArray) normalization classCount =
        if images.Dims.Length = 3 && labels.Dims.Length = 1 && images.Dims.[0] <> labels.Dims.[0] then
            raise (InvalidDataException(sprintf "%s: holds %d labels but %s holds %d images; the counts must agree" labelsPath labels.Dims.[0] imagesPath images.Dims.[0]))
        let y = labelsTensor labelsPath labels classCount
        let x = try imagesTensor imagesPath images normalization with _ -> y.Dispose(); reraise ()
        { Images = x; Labels = y }

    /// Loads an image data set from four IDX files (each raw or gzip): (train images, train labels, test images,
    /// test labels). Images become [N,1,H,W] float32 scaled to [0,1] then normalised; labels become [N] int64.
    /// Checks that image and label counts agree, that every label is below the number of classes, and that train and
    /// test images have one size of at least one pixel. A damaged or inconsistent file is an InvalidDataException
    /// naming it (the first in the order above when several are); a missing one a FileNotFoundException.
    let fromIdxFiles
        (name: string)
        (classes: string list)
        (normalization: Normalization)
        (trainImages: string, trainLabels: string, testImages: string, testLabels: string)
        : ImageDataset =
        if String.IsNullOrWhiteSpace name then Errors.invalidArg "name" "a data set name" name
        if List.isEmpty classes || List.length classes > 256 then
            Errors.invalidArg "classes" "1 to 256 class names" (List.length classes)
        // Validate before reading 55 MB, so a bad argument fails at once.
        Transforms.validateNormalization normalization
        let paths = [ trainImages; trainLabels; testImages; testLabels ]
        // The four files are independent: reading, hashing and parsing them in parallel roughly halves the load time.
        // Each file's exception is kept rather than let through, since Array.Parallel would wrap it in an
        // AggregateException; the first damaged file (in the order above) is then reported with its own exception
        // (an InvalidDataException naming it) and stack trace, whichever thread finished first.
        let loaded =
            paths |> List.toArray |> Array.Parallel.map (fun p -> try Ok(load p) with e -> Error(ExceptionDispatchInfo.Capture e))
        let loaded =
            loaded |> Array.map (function Ok x -> x | Error e -> e.Throw(); Unchecked.defaultof<_>)
        let (trImg, trImgHash), (trLab, trLabHash), (teImg, teImgHash), (teLab, teLabHash) =
            loaded.[0], loaded.[1], loaded.[2], loaded.[3]
        checkImages trainImages trImg
        checkImages testImages teImg
        // A model is built for one image size: a test split of another size would only fail at evaluation.
        if teImg.Dims.[1] <> trImg.Dims.[1] || teImg.Dims.[2] <> trImg.Dims.[2] then
            raise (InvalidDataException(
                sprintf "%s: images are %dx%d pixels but %s holds images of %dx%d; train and test images must have one size"
                    testImages teImg.Dims.[1] teImg.Dims.[2] trainImages trImg.Dims.[1] trImg.Dims.[2]))
        let classCount = List.length classes
        let train = split trainImages trImg trainLabels trLab normalization classCount
        let test =
            try split testImages teImg testLabels teLab normalization classCount
            with _ -> (train :> IDisposable).Dispose(); reraise ()
        { Name = name
          Train = train
          Test = test
          Normalization = normalization
          Classes = classes
          Files = List.zip paths [ trImgHash; trLabHash; teImgHash; teLabHash ] }

    /// Loads the four standard-named IDX files (raw or .gz) from `folder`, without checksums (any data in MNIST's
    /// layout). DirectoryNotFoundException for a missing folder, FileNotFoundException for a missing file, and
    /// InvalidDataException naming the file for a damaged or inconsistent one (see `fromIdxFiles`).
    let fromFolder (name: string) (classes: string list) (normalization: Normalization) (folder: string) : ImageDataset =
        Transforms.validateNormalization normalization
        if String.IsNullOrWhiteSpace folder then Errors.invalidArg "folder" "a folder path" folder
        if not (Directory.Exists folder) then
            raise (DirectoryNotFoundException(sprintf "%s: data folder not found" folder))
        match standardFileNames |> List.map (resolveFile folder) with
        | [ a; b; c; d ] -> fromIdxFiles name classes normalization (a, b, c, d)
        | _ -> failwith "unreachable: four standard file names"

    /// Loads MNIST from a folder holding its four IDX files (raw or .gz).
    let mnist (folder: string) (normalization: Normalization) : ImageDataset =
        fromFolder "MNIST" mnistClasses normalization folder

    /// Loads Fashion-MNIST from a folder holding its four IDX files (raw or .gz).
    let fashionMnist (folder: string) (normalization: Normalization) : ImageDataset =
        fromFolder "Fashion-MNIST" fashionMnistClasses normalization folder
