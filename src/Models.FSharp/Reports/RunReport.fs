namespace Generative
// placeholder: RunReport is being written
