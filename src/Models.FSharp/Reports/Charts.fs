namespace Generative
// placeholder: Charts is being written
