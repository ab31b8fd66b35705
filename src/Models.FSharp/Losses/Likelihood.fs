namespace Generative

open System

/// A VAE decoder's likelihood p(x | z) as a value: the reconstruction loss that is its negative log-density up to a
/// constant, the output activation that gives its parameters, and that constant. Likelihoods compare by identity:
/// configs hold the values of `Likelihood.all`.
[<ReferenceEquality>]
type Likelihood =
    { /// The settings name, e.g. "gaussian".
      Name: string
      /// What the density is, for reports.
      Description: string
      /// -log p(x | x̂) per element, up to `Constant`.
      Reconstruction: ReconstructionLoss
      /// The decoder's last activation (its output is the density's parameter x̂).
      Output: Activation
      /// What to add to the per-image sum of `Reconstruction` to get -log p(x | z) in nats, for images of D pixels.
      Constant: int -> float }

/// The VAE likelihoods.
[<RequireQualifiedAccess>]
module Likelihood =
    /// Gaussian with variance ½ around a Tanh output: -log p(x|z) = Σ (x - x̂)² + (D/2) log π, so the summed squared
    /// error of the VAE source is the negative log-likelihood up to that constant. For [-1,1] data.
    let gaussian : Likelihood =
        { Name = "gaussian"
          Description = "Gaussian likelihood of variance ½ in the data's normalised units (the source's summed squared error is its negative log-density up to (D/2)·log π, which is included)"
          Reconstruction = Reconstruction.mse
          Output = Tanh
          Constant = fun pixels -> 0.5 * float pixels * Math.Log Math.PI }

    /// Bernoulli with means given by a Sigmoid output: -log p(x|z) = Σ BCE(x̂, x). For [0,1] data (on grey-level MNIST
    /// this is the usual cross-entropy, a proper likelihood only for binarised pixels).
    let bernoulli : Likelihood =
        { Name = "bernoulli"
          Description = "Bernoulli likelihood (binary cross-entropy; a proper density only for binarised pixels)"
          Reconstruction = Reconstruction.bce
          Output = Sigmoid
          Constant = fun _ -> 0.0 }

    /// Every likelihood, by name.
    let all = [ gaussian; bernoulli ]
