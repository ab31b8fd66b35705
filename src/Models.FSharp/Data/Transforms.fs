namespace Generative
// placeholder: Transforms is being written
