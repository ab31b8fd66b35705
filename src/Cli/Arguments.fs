/// The `generative` command line, declared with Argu: one union per sub-command.
module Generative.Cli.Arguments

open Argu

type TrainArgs =
    | [<MainCommand; Unique>] Model of model: string
    | Dataset of name: string
    | Corpus of name: string
    | Text of file: string
    | Epochs of count: int
    | Steps of count: int64
    | [<AltCommandLine("-b")>] Batch_Size of size: int
    | Seed of seed: int64
    | Device of device: string
    | Normalization of name: string
    | [<CustomCommandLine("--set")>] Set of setting: string
    | Precision of format: string
    | Data of folder: string
    | Runs of folder: string
    | Run_Folder of folder: string
    | Checkpoint_Every of steps: int
    | Checkpoint_Minutes of minutes: float
    | Keep_Checkpoints of count: int
    | Tensorboard
    | Epoch_Test of images: int
    | Resume of run: string
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Model _ -> "model id (see `generative models`), e.g. ae-linear."
            | Dataset _ -> "mnist (default for image models) or fashion-mnist; for language models, a corpus as --corpus."
            | Corpus _ -> "the text a language model trains on: tiny-shakespeare (default) or jargon."
            | Text _ -> "a UTF-8 text file a language model trains on (instead of a named corpus)."
            | Epochs _ -> "epochs to train (default 1); with --resume, the new total."
            | Steps _ -> "train this many steps in all instead of whole epochs (the last epoch may stop part-way); with --resume, the new total."
            | Batch_Size _ -> "examples per step (default: the model's source's, shown by `generative models`; 64 for most)."
            | Seed _ -> "seed of initial weights, data order and noise (default 42)."
            | Device _ -> "auto (default: CUDA when available), cpu or cuda."
            | Normalization _ -> "zero-one, minus-one-one or mean-std (default: the model's)."
            | Set _ -> "model setting key=value (repeatable), e.g. --set optimizer=adam:lr=0.0005."
            | Precision _ -> "number format of the training passes: fp32 (default) or bf16 (fp32 weights, bfloat16 matrix products; GANs, classifiers and language models); the same as --set precision=..."
            | Data _ -> "folder holding the data set's IDX files (default: the cache, see `data fetch`)."
            | Runs _ -> "parent folder of new runs (default runs)."
            | Run_Folder _ -> "exact folder for this run."
            | Checkpoint_Every _ -> "also checkpoint every N steps (default: at epoch ends, on Ctrl+C or SIGTERM, and by time)."
            | Checkpoint_Minutes _ -> "also checkpoint after M minutes of training since the last checkpoint, so a crash loses at most that (default 5; 0: off)."
            | Keep_Checkpoints _ -> "checkpoints kept (default 2)."
            | Tensorboard -> "also write TensorBoard logs into <run>/tensorboard/ (view them with `tensorboard --logdir runs`); with --resume, from there on."
            | Epoch_Test _ ->
                sprintf "test images a generative model's per-epoch test metrics are measured on (reconstruction error, negative ELBO, Frechet distance; default %d; 0: none)."
                    Generative.RunSettings.defaultEpochTestImages
            | Resume _ -> "continue the run in this folder from its newest checkpoint."

type RunImageArgs =
    | [<MainCommand; ExactlyOnce>] Run of run: string
    | [<AltCommandLine("-n", "--n")>] Count of count: int
    | [<AltCommandLine("-o")>] Out of path: string
    | Device of device: string
    | Seed of seed: int64
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Run _ -> "run folder."
            | Count _ -> "number of images (default 64; sample: 8 rows of one image per class for aae-s)."
            | Out _ -> "PNG file to write (default <run>/<command>.png)."
            | Device _ -> "auto, cpu or cuda."
            | Seed _ -> "seed for sampling noise (default 0)."

type StyleArgs =
    | [<MainCommand; ExactlyOnce>] Source of run_or_model: string
    | Kind of kind: string
    | [<AltCommandLine("-n", "--n")>] Count of count: int
    | [<AltCommandLine("-o")>] Out of path: string
    | Dataset of name: string
    | Data of folder: string
    | Device of device: string
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Source _ -> "run folder, or model file (.safetensors, as the C# API saves one), of a supervised adversarial autoencoder (aae-s)."
            | Kind _ -> "traversal (default: each row keeps a class and sweeps one code dimension) or transfer (each row: a test image, then its style written as every class)."
            | Count _ -> "traversal: classes 0 to n-1 per swept dimension (default 5); transfer: test images, one per row (default 8)."
            | Out _ -> "PNG file to write (default <run>/style-<kind>.png, or <model>-style-<kind>.png beside a model file)."
            | Dataset _ -> "a model file's test images for --kind transfer: mnist (default) or fashion-mnist (a run uses its own)."
            | Data _ -> "folder holding that data set's IDX files (default: the cache, see `data fetch`)."
            | Device _ -> "auto, cpu or cuda."

type GenerateArgs =
    | [<MainCommand; ExactlyOnce>] Run of run: string
    | [<AltCommandLine("-p")>] Prompt of text: string
    | [<AltCommandLine("-n")>] Length of tokens: int
    | [<AltCommandLine("-t")>] Temperature of value: float
    | Top_K of count: int
    | Top_P of probability: float
    | Seed of seed: int64
    | Device of device: string
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Run _ -> "run folder of a language model (char-lstm, word-lstm)."
            | Prompt _ -> "text the model continues (default: a line break)."
            | Length _ -> "tokens to write: characters or words (default 500)."
            | Temperature _ -> "below 1 safer, above 1 wilder; 0 always takes the most likely token (default 0.8)."
            | Top_K _ -> "draw only among the k most likely tokens (default 0: all)."
            | Top_P _ -> "draw only among the most likely tokens holding this probability (default 1: all)."
            | Seed _ -> "seed of the draws (default 0)."
            | Device _ -> "auto, cpu or cuda."

type EncodeArgs =
    | [<MainCommand; ExactlyOnce>] Run of run: string
    | [<AltCommandLine("-o")>] Out of path: string
    | Device of device: string
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Run _ -> "run folder."
            | Out _ -> "CSV file of test-set codes with their labels (default <run>/codes.csv)."
            | Device _ -> "auto, cpu or cuda."

type ReportArgs =
    | [<MainCommand; ExactlyOnce>] Run of run: string
    interface IArgParserTemplate with
        member a.Usage = match a with Run _ -> "run folder whose report.html to rebuild from its newest checkpoint."

type EvalArgs =
    | [<MainCommand; ExactlyOnce>] Run of run: string
    | Device of device: string
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Run _ -> "run folder whose test metrics to re-measure (its report.html is rebuilt with them)."
            | Device _ -> "auto (default), cpu or cuda."

type RunsArgs =
    | [<MainCommand>] Root of folder: string
    interface IArgParserTemplate with
        member a.Usage = match a with Root _ -> "folder holding run folders (default: runs)."

type CompareArgs =
    | [<MainCommand; Mandatory>] Runs of runs: string list
    | [<AltCommandLine("-o")>] Out of path: string
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Runs _ -> "run folders to compare."
            | Out _ -> "the page to write (default compare.html)."

type FetchArgs =
    | [<MainCommand; ExactlyOnce>] Name of dataset: string
    | From of folder: string
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Name _ -> "mnist, fashion-mnist, tiny-shakespeare or jargon."
            | From _ -> "a folder that already holds the data set's files, raw or .gz (the four IDX files; tinyshakespeare.txt or input.txt; jargon.txt): verified and installed, or the command fails naming the file (the cache is not used instead)."

type DataArgs =
    | [<CliPrefix(CliPrefix.None)>] Fetch of ParseResults<FetchArgs>
    interface IArgParserTemplate with
        member a.Usage = match a with Fetch _ -> "find or download a data set, verify it by sha256 and cache it."

type FeaturesTrainArgs =
    | [<Mandatory>] Dataset of name: string
    | Data of folder: string
    | Device of device: string
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Dataset _ -> "mnist or fashion-mnist."
            | Data _ -> "folder holding the data set's IDX files (default: the cache, see `data fetch`)."
            | Device _ -> "auto (default), cpu or cuda."

type FeaturesArgs =
    | [<CliPrefix(CliPrefix.None)>] Train of ParseResults<FeaturesTrainArgs>
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Train _ -> "train the data set's feature classifier used by sample-quality metrics and save it in the cache."

type ImportArgs =
    | [<MainCommand; ExactlyOnce>] Model_And_File of model: string * file: string
    | [<AltCommandLine("-o"); Mandatory>] Out of path: string
    | [<CustomCommandLine("--set")>] Set of setting: string
    | [<CustomCommandLine("--rename")>] Rename of rule: string
    | Device of device: string
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Model_And_File _ -> "model id (see `generative models`) and a PyTorch state dict file (torch.save(model.state_dict(), 'model.pth'))."
            | Out _ -> "model file to write (.safetensors), which C# ctx.Load and F# Experiment.loadModel read."
            | Set _ -> "model setting key=value (repeatable), as for train: the model the weights were trained with."
            | Rename _ -> "from=to (repeatable): rename the file's tensors starting with `from` to start with `to` (the first rule that matches applies), e.g. --rename g.=generator."
            | Device _ -> "auto (default), cpu or cuda."

type ModelsArgs =
    | [<AltCommandLine("-v")>] Verbose
    interface IArgParserTemplate with
        member a.Usage = match a with Verbose -> "list every setting with its default and what it means."

type Command =
    | [<CliPrefix(CliPrefix.None)>] Train of ParseResults<TrainArgs>
    | [<CliPrefix(CliPrefix.None)>] Sample of ParseResults<RunImageArgs>
    | [<CliPrefix(CliPrefix.None)>] Reconstruct of ParseResults<RunImageArgs>
    | [<CliPrefix(CliPrefix.None)>] Generate of ParseResults<GenerateArgs>
    | [<CliPrefix(CliPrefix.None)>] Encode of ParseResults<EncodeArgs>
    | [<CliPrefix(CliPrefix.None)>] Style of ParseResults<StyleArgs>
    | [<CliPrefix(CliPrefix.None)>] Report of ParseResults<ReportArgs>
    | [<CliPrefix(CliPrefix.None)>] Eval of ParseResults<EvalArgs>
    | [<CliPrefix(CliPrefix.None)>] Runs of ParseResults<RunsArgs>
    | [<CliPrefix(CliPrefix.None)>] Compare of ParseResults<CompareArgs>
    | [<CliPrefix(CliPrefix.None)>] Data of ParseResults<DataArgs>
    | [<CliPrefix(CliPrefix.None)>] Models of ParseResults<ModelsArgs>
    | [<CliPrefix(CliPrefix.None)>] Features of ParseResults<FeaturesArgs>
    | [<CliPrefix(CliPrefix.None)>] Import of ParseResults<ImportArgs>
    | [<Inherit>] Debug
    | [<Inherit>] Threads of count: int
    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Train _ -> "train a model into a run folder (or --resume one)."
            | Sample _ -> "draw new images from a trained generative model (or text from a language model)."
            | Generate _ -> "write text with a trained language model, streamed as it is drawn."
            | Reconstruct _ -> "reconstruct test images with a trained autoencoder (originals above, reconstructions below)."
            | Encode _ -> "write the codes of the test set."
            | Style _ -> "draw a supervised adversarial autoencoder's (aae-s) style traversal or style transfer grid."
            | Report _ -> "rebuild a run's report.html."
            | Eval _ -> "re-measure a run's test metrics from its newest checkpoint, print them and rebuild its report."
            | Runs _ -> "list the runs of a folder: model, data, status, epochs, headline metric, start."
            | Compare _ -> "write one offline page comparing runs: curves, differing settings, final metrics, newest grids."
            | Data _ -> "data sets."
            | Models _ -> "list the models."
            | Features _ -> "feature classifiers for sample-quality metrics (FID, inception score)."
            | Import _ -> "turn a PyTorch state dict (.pth) of a catalog model into a model file (docs/pytorch.md)."
            | Debug -> "print stack traces of errors."
            | Threads _ ->
                "CPU threads libtorch may use (default: one per core). On a machine other work keeps busy, fewer threads than cores avoid OpenMP threads spinning against each other."
