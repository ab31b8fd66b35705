namespace Generative
// placeholder: Fetch is being written
