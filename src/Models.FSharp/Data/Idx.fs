namespace Generative
// placeholder: Idx is being written
