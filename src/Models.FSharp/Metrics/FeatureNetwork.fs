namespace Generative

open TorchSharp

/// A trained classifier seen as a feature extractor: what sample-quality metrics (Frechet distance, inception
/// score, predicted-class histograms) measure generated images with. Classifiers provide one; GAN evaluation
/// consumes one, so neither depends on the other's code.
type FeatureNetwork =
    { /// What the network is and how good it is, for reports, e.g. "LeNet-style MNIST classifier (test accuracy 99.2%)".
      Description: string
      /// Class names, index = class.
      Classes: string list
      /// Penultimate-layer features of images [N, 1, 28, 28] in the classifier's normalisation -> [N, D].
      Features: Tensor -> Tensor
      /// Class probabilities (softmax) of the same images -> [N, classes].
      Probabilities: Tensor -> Tensor }
