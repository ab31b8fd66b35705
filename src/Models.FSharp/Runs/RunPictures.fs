namespace Generative

open System
open System.IO
open TorchSharp

/// A run's picture files under `samples/`: the fixed batch's series drawn at each epoch end
/// (`<series>-epoch-<nnn>.png` with the series title in `<series>.title`), the final pictures of the report extras
/// (`final-<slug>.png` with title and caption in `final-<slug>.final`), and reading both back as the report's series.
[<RequireQualifiedAccess>]
module RunPictures =
    /// A file-name stem from a title: its first four words, lower case, joined by '-'.
    let slug (title: string) =
        let chars = title.ToLowerInvariant() |> Seq.map (fun c -> if Char.IsLetterOrDigit c then c else '-') |> Seq.toArray
        String(chars).Split('-', StringSplitOptions.RemoveEmptyEntries) |> Seq.truncate 4 |> String.concat "-"

    /// Saves the model's picture series of the fixed batch as `samples/<series>-epoch-<nnn>.png`; returns each
    /// series' (title, PNG path).
    let savePictures folder (norm: Normalization) (model: RunModel) (fixedBatch: Batch) (epoch: int) : (string * string) list =
        let dir = RunFolder.picturesFolder folder
        Directory.CreateDirectory dir |> ignore
        Trainer.eval model.Trainer
        use _ = torch.NewDisposeScope()
        [ for (title, images) in model.Pictures fixedBatch do
            let path = Path.Combine(dir, sprintf "%s-epoch-%03d.png" (slug title) epoch)
            Images.saveGrid path RunModel.gridColumns (Transforms.denormalize norm (images.cpu()))
            AtomicFile.writeText (Path.Combine(dir, slug title + ".title")) title
            yield title, path ]

    /// Saves the model's passages of text at the end of `epoch` as `samples/<series>-epoch-<nnn>.txt` (UTF-8), with
    /// the series title in `<series>.passage`; returns each series' (title, text).
    let savePassages folder (model: RunModel) (epoch: int) : (string * string) list =
        let dir = RunFolder.picturesFolder folder
        Directory.CreateDirectory dir |> ignore
        Trainer.eval model.Trainer
        [ for (title, text) in model.Passages () do
            AtomicFile.writeText (Path.Combine(dir, sprintf "%s-epoch-%03d.txt" (slug title) epoch)) text
            AtomicFile.writeText (Path.Combine(dir, slug title + ".passage")) title
            yield title, text ]

    /// Draws a model's report artifacts: saves each image grid as `samples/final-<slug>.png` (with its title and
    /// caption beside it, read back by `finalSeries`) and returns the others, which the report renders directly. The
    /// model draws them as units of `work`.
    let drawExtras (work: Work) folder (model: RunModel) (data: RunData) : ReportArtifact list =
        Trainer.eval model.Trainer
        use _ = torch.NewDisposeScope()
        // Grids are drawn in the data's normalisation; a text model draws none.
        let norm = match data with ImageData d -> d.Normalization | TextData _ -> ZeroOne
        let artifacts = model.Extras work data
        let dir = RunFolder.picturesFolder folder
        Directory.CreateDirectory dir |> ignore
        [ for artifact in artifacts do
            match artifact with
            | ImageGrid (title, caption, columns, images) ->
                let stem = "final-" + slug title
                Images.saveGrid (Path.Combine(dir, stem + ".png")) columns (Transforms.denormalize norm (images.cpu()))
                AtomicFile.writeText (Path.Combine(dir, stem + ".final")) (title + "\n" + caption)
            | other -> yield other ]

    /// The series `read` makes of each file of the run's pictures folder matching `pattern`, in file-name order
    /// (none before the folder exists); `read` gets the folder and the file.
    let private seriesOfFiles folder (pattern: string) (read: string -> string -> 'Series) : 'Series list =
        let dir = RunFolder.picturesFolder folder
        if not (Directory.Exists dir) then []
        else Directory.GetFiles(dir, pattern) |> Array.sort |> Array.map (read dir) |> List.ofArray

    /// The per-epoch files `<stem>-epoch-<nnn><extension>` of a series in `dir`, in epoch order, as ("epoch n", what
    /// `frame` makes of the file's path).
    let private epochFrames (dir: string) (stem: string) (extension: string) (frame: string -> 'Frame) : (string * 'Frame) list =
        Directory.GetFiles(dir, stem + "-epoch-*" + extension)
        |> Array.sort
        |> Array.map (fun f ->
            let n = Path.GetFileNameWithoutExtension(f).Substring(stem.Length + "-epoch-".Length)
            sprintf "epoch %d" (int n), frame f)
        |> List.ofArray

    /// The final pictures saved by `drawExtras`, one single-frame series each.
    let finalSeries folder : ImageSeries list =
        seriesOfFiles folder "final-*.final" (fun _ f ->
            let lines = File.ReadAllText(f).Split('\n', 2)
            { ImageSeries.Title = lines.[0]
              Caption = (if lines.Length > 1 then lines.[1] else "")
              Frames = [ "end of training", Path.ChangeExtension(f, ".png") ] })

    /// Every picture series of the run: the fixed batch's, one frame per epoch, then the final pictures.
    let imageSeries folder : ImageSeries list =
        let epochSeries =
            seriesOfFiles folder "*.title" (fun dir titleFile ->
                { ImageSeries.Title = File.ReadAllText titleFile
                  Caption = "A fixed batch, drawn at the end of each epoch."
                  Frames = epochFrames dir (Path.GetFileNameWithoutExtension titleFile) ".png" id })
        epochSeries @ finalSeries folder

    /// Every passage series of the run: one frame per epoch, in epoch order.
    let textSeries folder : TextSeries list =
        seriesOfFiles folder "*.passage" (fun dir titleFile ->
            { TextSeries.Title = File.ReadAllText titleFile
              Caption = "Written at the end of each epoch from the same seed, after a line break."
              Frames = epochFrames dir (Path.GetFileNameWithoutExtension titleFile) ".txt" File.ReadAllText })
