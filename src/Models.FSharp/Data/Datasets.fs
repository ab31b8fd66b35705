namespace Generative
// TEMPORARY stub until the data branch lands (same signatures).
type Split = { Images: Tensor; Labels: Tensor } with member s.Count = s.Images.shape.[0]
