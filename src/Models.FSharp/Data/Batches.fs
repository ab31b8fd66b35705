namespace Generative
// placeholder: Batches is being written
