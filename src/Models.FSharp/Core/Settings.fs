namespace Generative

open System
open System.Globalization

/// One setting of a config record, declared once: its key, what it means, how it is printed from the record and
/// how text sets it. Settings exist as text only at the library's edges (`--set key=value`, run.json, model-file
/// metadata); inside, configs are typed records.
type Setting<'Config> =
    { /// The name at the edges, e.g. "latent-dim".
      Key: string
      /// One line for `generative models` and the docs.
      Doc: string
      /// The value of this setting in a config, as text that `Apply` reads back.
      Print: 'Config -> string
      /// The config with this setting read from text. Throws ArgumentException (ParamName = Key) when the text does
      /// not parse; range checks belong to the config's own validation, which runs once on the whole record.
      Apply: string -> 'Config -> 'Config }

/// Reading typed values from text: invariant culture, surrounding spaces ignored, an ArgumentException naming the
/// key when the text does not parse.
[<RequireQualifiedAccess>]
module SettingText =
    /// An integer.
    let int (key: string) (text: string) : int =
        match Int32.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture) with
        | true, x -> x
        | _ -> Errors.invalidArg key "an integer" text

    /// A floating-point number.
    let float (key: string) (text: string) : float =
        match Double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture) with
        | true, x -> x
        | _ -> Errors.invalidArg key "a number" text

    /// Comma-separated integers, e.g. "128,64,9".
    let ints (key: string) (text: string) : int list =
        text.Split(',', StringSplitOptions.RemoveEmptyEntries)
        |> Array.map (fun s ->
            match Int32.TryParse(s.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture) with
            | true, x -> x
            | _ -> Errors.invalidArg key "comma-separated integers" text)
        |> List.ofArray

    /// true | false (also yes/no, 1/0).
    let bool (key: string) (text: string) : bool =
        match text.Trim().ToLowerInvariant() with
        | "true" | "yes" | "1" -> true
        | "false" | "no" | "0" -> false
        | _ -> Errors.invalidArg key "true or false" text

    /// A number printed so that `float` reads back exactly the same value.
    let ofFloat (x: float) = x.ToString("R", CultureInfo.InvariantCulture)

    /// Integers printed as `ints` reads them.
    let ofInts (xs: int list) = xs |> List.map string |> String.concat ","

/// Declaring settings.
[<RequireQualifiedAccess>]
module Setting =
    /// A setting of a field of type 'T: `print` and `parse` are its text form, `get` and `set` its place in the record.
    /// A parse error is reported under this setting's key, whatever name the parser used.
    let create (key: string) (doc: string) (print: 'T -> string) (parse: string -> 'T)
               (get: 'Config -> 'T) (set: 'T -> 'Config -> 'Config) : Setting<'Config> =
        { Key = key
          Doc = doc
          Print = get >> print
          Apply =
            fun text config ->
                let value =
                    try parse text
                    with :? ArgumentException as e when e.ParamName <> key ->
                        // The parser's own name for the value (e.g. "optimizer" inside "g-optimizer") gives way to the key.
                        let inner = Errors.messageOf e
                        let detail =
                            if not (isNull e.ParamName) && inner.StartsWith(e.ParamName + ": ") then inner.Substring(e.ParamName.Length + 2)
                            else inner
                        raise (ArgumentException(sprintf "%s: %s" key detail, key, e))
                set value config }

    /// An integer setting.
    let int key doc get set = create key doc string (SettingText.int key) get set

    /// A floating-point setting.
    let float key doc get set = create key doc SettingText.ofFloat (SettingText.float key) get set

    /// A list of integers, written "128,64,9".
    let ints key doc get set = create key doc SettingText.ofInts (SettingText.ints key) get set

    /// true | false.
    let bool key doc get set = create key doc (fun b -> if b then "true" else "false") (SettingText.bool key) get set

    /// Free text (a path, for instance), spaces around it removed.
    let text key doc get set = create key doc id (fun (t: string) -> t.Trim()) get set

    /// One of named values, e.g. [ "gaussian", Gaussian; "bernoulli", Bernoulli ]; the first name of a value is the
    /// one printed, later ones are accepted aliases.
    let choice (key: string) (doc: string) (options: (string * 'T) list) get set =
        let expected = options |> List.map fst |> List.distinct |> String.concat ", "
        let print value =
            match options |> List.tryFind (fun (_, v) -> v = value) with
            | Some (name, _) -> name
            | None -> invalidOp (sprintf "setting %s: the value %A has no name" key value)
        let parse (text: string) =
            match options |> List.tryFind (fun (name, _) -> name = text.Trim().ToLowerInvariant()) with
            | Some (_, v) -> v
            | None -> Errors.invalidArg key (sprintf "one of %s" expected) text
        create key doc print parse get set

    /// A setting of a part of a bigger config (e.g. the network inside a run config): `get` reads the part, `set`
    /// replaces it.
    let lift (get: 'Outer -> 'Inner) (set: 'Inner -> 'Outer -> 'Outer) (s: Setting<'Inner>) : Setting<'Outer> =
        { Key = s.Key
          Doc = s.Doc
          Print = get >> s.Print
          Apply = fun text outer -> set (s.Apply text (get outer)) outer }

/// A config's settings, in order. Settings are applied in table order whatever order they are given in, so a
/// setting that picks a preset (GAN-MLP's "variant", the denoising autoencoder's "network") comes first and the
/// others refine the preset it picked.
[<RequireQualifiedAccess>]
module SettingsTable =
    /// The keys, in table order.
    let keys (table: Setting<'Config> list) = table |> List.map (fun s -> s.Key)

    /// Every setting of a config as (key, text), in table order: what run.json and model files store.
    let print (table: Setting<'Config> list) (config: 'Config) : (string * string) list =
        table |> List.map (fun s -> s.Key, s.Print config)

    /// Reads (key, text) pairs over `baseline`. A key the table does not have, or a key given twice, is rejected with
    /// an ArgumentException naming it (ParamName = the key); keys not given keep the baseline's values.
    let read (table: Setting<'Config> list) (baseline: 'Config) (pairs: (string * string) list) : 'Config =
        let known = keys table
        for (key, _) in pairs do
            if not (List.contains key known) then
                Errors.invalidArg key (sprintf "one of the settings %s" (String.concat ", " known)) (sprintf "an unknown setting '%s'" key)
        for (key, count) in pairs |> List.countBy fst do
            if count > 1 then
                let values = pairs |> List.filter (fun (k, _) -> k = key) |> List.map snd |> String.concat "', '"
                Errors.invalidArg key "each setting once" (sprintf "%d values ('%s')" count values)
        table
        |> List.fold (fun config setting ->
            match pairs |> List.tryFind (fun (k, _) -> k = setting.Key) with
            | Some (_, text) -> setting.Apply text config
            | None -> config) baseline
