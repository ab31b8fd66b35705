namespace Generative
// placeholder: Images is being written
