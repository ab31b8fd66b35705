namespace Generative

open System
open System.Collections.Generic
open System.Text
open System.Text.Json
open System.Text.Json.Nodes
open System.Text.RegularExpressions
open TorchSharp

/// What a language model's tokens are.
[<RequireQualifiedAccess>]
type TokenLevel =
    /// Unicode code points (a character outside the Basic Multilingual Plane is one token, not two UTF-16 units).
    | Characters
    /// Words, each punctuation mark and each line break (see `Vocabulary.words`).
    | Words

/// The tokens a language model knows, built from a training text and saved with the run. Token 0 is the unknown
/// token: what a character or word the training text did not have (or that was too rare) becomes.
type Vocabulary =
    { Level: TokenLevel
      /// Words are lower-cased before they are looked up (word level only).
      LowerCase: bool
      /// The tokens by id; `Tokens.[0]` is `Vocabulary.unknownToken`.
      Tokens: string array
      /// Token -> id.
      Ids: IReadOnlyDictionary<string, int> }

    /// Number of tokens, the unknown token included.
    member this.Count = this.Tokens.Length

/// Building vocabularies, turning text into token ids and back, and the vocabulary's text form (run settings).
[<RequireQualifiedAccess>]
module Vocabulary =
    /// The unknown token's text in the vocabulary.
    let unknownToken = "<unk>"

    /// How the unknown token is written back into text: U+FFFD for characters, "<unk>" for words.
    let unknownText (level: TokenLevel) = match level with TokenLevel.Characters -> "\uFFFD" | TokenLevel.Words -> unknownToken

    // A word is a run of letters, digits, apostrophes and inner hyphens; every other visible character is a token of
    // its own, and so is a line break (spaces and tabs only separate tokens).
    let private wordPattern = Regex(@"\n|[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*|[^\s]", RegexOptions.Compiled)

    /// The character tokens of a text: its Unicode code points (a lone surrogate becomes U+FFFD).
    let characters (text: string) : string seq = text.EnumerateRunes() |> Seq.map (fun r -> r.ToString())

    /// The word tokens of a text (before lower-casing): words, punctuation marks and line breaks; "\r\n" counts as "\n".
    let words (text: string) : string seq =
        wordPattern.Matches(text.Replace("\r\n", "\n")) |> Seq.map (fun m -> m.Value)

    /// The tokens of `text` at a level, lower-cased when asked (word level only).
    let tokenize (level: TokenLevel) (lowerCase: bool) (text: string) : string seq =
        match level with
        | TokenLevel.Characters -> characters text
        | TokenLevel.Words -> words text |> (if lowerCase then Seq.map (fun w -> w.ToLowerInvariant()) else id)

    let private ofTokens (level: TokenLevel) (lowerCase: bool) (tokens: string seq) : Vocabulary =
        let all = Array.append [| unknownToken |] (tokens |> Seq.filter (fun t -> t <> unknownToken) |> Seq.toArray)
        let ids = Dictionary<string, int>(StringComparer.Ordinal)
        for i in 0 .. all.Length - 1 do
            if ids.ContainsKey all.[i] then Errors.invalidArg "vocabulary" "distinct tokens" all.[i]
            ids.[all.[i]] <- i
        { Level = level; LowerCase = lowerCase; Tokens = all; Ids = ids }

    /// The vocabulary of a training text. Characters: every code point of the text, ordered by code point (as
    /// Python's `sorted(set(text))`). Words: those seen at least `minCount` times, the `maxSize - 1` most frequent
    /// when `maxSize` > 0 (ties in the order they first appear), after lower-casing when `lowerCase`.
    let build (level: TokenLevel) (lowerCase: bool) (minCount: int) (maxSize: int) (text: string) : Vocabulary =
        if minCount < 1 then Errors.invalidArg "min-count" "at least 1" minCount
        if maxSize < 0 || maxSize = 1 then Errors.invalidArg "max-vocabulary" "0 (no limit) or at least 2 (the unknown token and one more)" maxSize
        let counts = Dictionary<string, int>(StringComparer.Ordinal)
        let order = ResizeArray<string>()
        for t in tokenize level lowerCase text do
            match counts.TryGetValue t with
            | true, c -> counts.[t] <- c + 1
            | _ ->
                counts.[t] <- 1
                order.Add t
        let kept = order |> Seq.filter (fun t -> counts.[t] >= minCount)
        let chosen =
            match level with
            | TokenLevel.Characters ->
                kept |> Seq.sortWith (fun a b -> compare (Rune.GetRuneAt(a, 0).Value) (Rune.GetRuneAt(b, 0).Value))
            | TokenLevel.Words ->
                // A stable sort keeps first-appearance order among equal counts.
                kept |> Seq.sortByDescending (fun t -> counts.[t])
            |> fun tokens -> if maxSize > 0 then Seq.truncate (maxSize - 1) tokens else tokens
        ofTokens level lowerCase chosen

    /// The id of a token; 0 (unknown) when the vocabulary does not have it.
    let idOf (v: Vocabulary) (token: string) : int =
        match v.Ids.TryGetValue token with
        | true, id -> id
        | _ -> 0

    /// The token ids of a text.
    let ids (v: Vocabulary) (text: string) : int64 array =
        tokenize v.Level v.LowerCase text |> Seq.map (fun t -> int64 (idOf v t)) |> Seq.toArray

    /// The token ids of a text, as an int64 tensor [T] on the CPU.
    let encode (v: Vocabulary) (text: string) : Tensor = torch.tensor(ids v text, dtype = torch.int64)

    let private noSpaceBefore = set [ "."; ","; ";"; ":"; "!"; "?"; ")"; "]"; "}"; "'"; "’"; "\n" ]
    let private noSpaceAfter = set [ "("; "["; "{"; "\n" ]

    /// The text of one token: the token itself, or `unknownText` for id 0. ArgumentException for an id outside the
    /// vocabulary.
    let tokenText (v: Vocabulary) (id: int) : string =
        if id < 0 || id >= v.Count then Errors.invalidArg "id" (sprintf "a token id in [0, %d)" v.Count) id
        if id = 0 then unknownText v.Level else v.Tokens.[id]

    /// What to write between two consecutive tokens: nothing at the character level; at the word level a space,
    /// except before closing punctuation and line breaks and after opening brackets and line breaks.
    let separator (v: Vocabulary) (previous: string) (next: string) : string =
        match v.Level with
        | TokenLevel.Characters -> ""
        | TokenLevel.Words -> if noSpaceAfter.Contains previous || noSpaceBefore.Contains next then "" else " "

    /// The text of token ids (words joined as `separator` says).
    let decode (v: Vocabulary) (ids: int seq) : string =
        let sb = StringBuilder()
        let mutable previous = None
        for id in ids do
            let t = tokenText v id
            previous |> Option.iter (fun p -> sb.Append(separator v p t) |> ignore)
            sb.Append t |> ignore
            previous <- Some t
        sb.ToString()

    /// The vocabulary as JSON text (a run setting): {"level": "characters"|"words", "lowerCase": bool, "tokens": [...]}.
    let toJson (v: Vocabulary) : string =
        let o = JsonObject()
        o["level"] <- JsonValue.Create(match v.Level with TokenLevel.Characters -> "characters" | TokenLevel.Words -> "words")
        o["lowerCase"] <- JsonValue.Create v.LowerCase
        let tokens = JsonArray()
        for t in v.Tokens do tokens.Add(JsonValue.Create t)
        o["tokens"] <- tokens
        o.ToJsonString()

    /// Reads `toJson`'s form; ArgumentException (ParamName "vocabulary") when it is not one.
    let ofJson (text: string) : Vocabulary =
        let fail (why: string) = Errors.invalidArg "vocabulary" (sprintf "a vocabulary written by the library (%s)" why) (if text.Length > 60 then text.Substring(0, 60) + "..." else text)
        let o =
            try JsonNode.Parse(text).AsObject()
            with :? JsonException | :? InvalidOperationException as e -> fail e.Message
        try
            let level =
                match o["level"].GetValue<string>() with
                | "characters" -> TokenLevel.Characters
                | "words" -> TokenLevel.Words
                | other -> fail (sprintf "unknown level '%s'" other)
            let tokens = [ for t in o["tokens"].AsArray() -> t.GetValue<string>() ]
            match tokens with
            | first :: rest when first = unknownToken -> ofTokens level (o["lowerCase"].GetValue<bool>()) rest
            | _ -> fail "its first token must be <unk>"
        with :? NullReferenceException | :? InvalidOperationException as e -> fail e.Message
