namespace Generative

open TorchSharp

/// Short names for the TorchSharp types used everywhere in the library.
[<AutoOpen>]
module TensorTypes =
    /// A libtorch tensor.
    type Tensor = torch.Tensor
    /// A network piece mapping one tensor to one tensor: the unit every layer and model here is built from.
    type Net = torch.nn.Module<torch.Tensor, torch.Tensor>
