/// Entry point of the `generative` command: parses arguments and turns errors into clear messages and exit codes.
module Generative.Cli.Program

open System
open System.IO
open Argu
open Generative.Cli.Arguments

[<EntryPoint>]
let main argv =
    let parser = ArgumentParser.Create<Command>(programName = "generative")
    let debug = argv |> Array.contains "--debug"
    try
        let args = parser.ParseCommandLine(argv)
        args.TryGetResult Threads |> Option.iter Commands.setThreads
        match args.TryGetSubCommand() with
        | Some (Train a) -> Commands.train a
        | Some (Sample a) -> Commands.sample a
        | Some (Reconstruct a) -> Commands.reconstruct a
        | Some (Generate a) -> Commands.generate a
        | Some (Encode a) -> Commands.encode a
        | Some (Style a) -> Commands.style a
        | Some (Report a) -> Commands.report a
        | Some (Eval a) -> Commands.eval a
        | Some (Runs a) -> Commands.runs a
        | Some (Compare a) -> Commands.compare a
        | Some (Data a) -> Commands.data a
        | Some (Models a) -> Commands.models (a.Contains ModelsArgs.Verbose)
        | Some (Features a) -> Commands.features a
        | Some (Import a) -> Commands.importPyTorch a
        | Some Debug | Some (Threads _) | None ->
            Console.WriteLine(parser.PrintUsage())
            2
    with
    | :? ArguParseException as e ->
        Console.Error.WriteLine e.Message
        if e.ErrorCode = ErrorCode.HelpText then 0 else 2
    | Commands.UsageError message ->
        Console.Error.WriteLine("error: " + message)
        2
    | e when not debug ->
        let e = match e with :? AggregateException as a when not (isNull a.InnerException) -> a.InnerException | e -> e
        let kind =
            match e with
            | :? ArgumentException -> "invalid setting"
            | :? FileNotFoundException | :? DirectoryNotFoundException -> "missing file"
            | :? InvalidDataException -> "bad file"
            | :? Generative.NonFiniteLossException -> "training diverged"
            | e when Generative.Errors.isOutOfMemory e -> "out of memory"
            | _ -> "error"
        Console.Error.WriteLine(sprintf "%s: %s" kind (Generative.Errors.messageOf e))
        Console.Error.WriteLine "(run again with --debug for the stack trace)"
        1
