namespace Generative

open TorchSharp

/// The minibatch standard deviation feature of a discriminator (Karras et al., 2018, "Progressive Growing of GANs",
/// section 3): features [N, F] become [N, F + 1], the extra column holding, for every row, the standard deviation of
/// each feature over the batch averaged over the features. A batch of near-identical fakes has a small one, so D can
/// tell a collapsed generator from real data by the batch as a whole, which a per-image D cannot; G is pushed back
/// towards variety. The statistic is taken over the whole batch D is given, so real and generated images must reach D
/// in separate batches (as `Gan.discriminatorLoss` passes them).
[<RequireQualifiedAccess>]
module MinibatchStddev =
    /// Keeps the square root away from 0 for a batch of identical rows (ProGAN's 1e-8), so gradients stay finite.
    let epsilon = 1e-8

    /// [N, F] -> [N, F + 1]: the features followed by the batch's mean per-feature standard deviation (biased, so a
    /// batch of one gives √ε rather than a division by zero), the same value in every row, with gradients through it.
    let append (features: Tensor) : Tensor =
        if features.dim() <> 2L then
            Errors.invalidArg "features" "a [batch, features] matrix (flatten before the minibatch standard deviation)"
                (sprintf "a tensor of shape %A" features.shape)
        use _ = torch.NewDisposeScope()
        // The population variance by hand: libtorch's var warns about degrees of freedom for a batch of one even
        // without Bessel's correction, and a warning in a training log would alarm for nothing.
        let centred = features - features.mean([| 0L |], keepdim = true)
        let variance = (centred * centred).mean([| 0L |], keepdim = true)
        let spread = (variance + epsilon).sqrt().mean()
        let column = spread.expand(features.shape.[0], 1L)
        // Computed from the features, so already in their element type (bfloat16 in a mixed-precision working copy).
        torch.cat([| features; column |], 1L).MoveToOuterDisposeScope()

    /// The layer form of `append`, without parameters (so a network's parameter count grows only by the next
    /// layer's extra input).
    let layer () : Net = new Lambda("minibatch-stddev", append) :> Net
