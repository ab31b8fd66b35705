// A consumer that opens both namespaces, as one that catches Generative.NonFiniteLossException does. It lives outside
// namespace Generative on purpose: inside it, C# would find the facade's types before the using directives and hide a
// clash. If a facade type shares a name with a core type, this file stops compiling (CS0104: ambiguous reference).
using Generative;
using Generative.CSharp;
using Xunit;

namespace ConsumerApp.Tests;

public sealed class NamespaceTests
{
    [Fact]
    public void A_file_with_both_usings_compiles_and_uses_the_facades_types()
    {
        var progress = new Progress<TrainingProgress>(p => Console.WriteLine(p.Loss));
        var normalization = ImageNormalization.MinusOneToOne;
        var loss = AdversarialLoss.LeastSquares;
        var prior = CodePrior.Gaussian(5);
        var likelihood = VaeLikelihood.Bernoulli;
        var noise = GanNoise.Uniform;
        var network = DenoisingNetwork.Deep;
        Normalization core = Normalization.ZeroOne;   // the core's own type keeps its name
        Assert.NotNull(progress);
        Assert.Equal("least-squares", loss.Name);
        Assert.Equal((ImageNormalization.MinusOneToOne, VaeLikelihood.Bernoulli, GanNoise.Uniform, DenoisingNetwork.Deep),
                     (normalization, likelihood, noise, network));
        Assert.NotNull(prior);
        Assert.True(core.IsZeroOne);
        Assert.Equal("Generative", typeof(NonFiniteLossException).Namespace);
    }

    [Fact]
    public void No_public_type_of_the_facade_shares_its_name_with_one_of_namespace_Generative()
    {
        var core = typeof(Generative.Experiment).Assembly.GetExportedTypes()
                   .Where(t => t.Namespace == "Generative" && !t.IsNested).Select(t => t.Name).ToHashSet();
        var facade = typeof(GenerativeContext).Assembly.GetExportedTypes()
                     .Where(t => t.Namespace == "Generative.CSharp" && !t.IsNested).Select(t => t.Name);
        Assert.DoesNotContain(facade, core.Contains);
    }
}
