namespace Generative
// placeholder: Datasets is being written
