using System.Diagnostics;
using LlmCostTracker.Pricing;

namespace LlmCostTracker.MicroBench;

/// <summary>What the catalog adds to a worker's start: the first parse, validation and price book of a catalog in a
/// fresh process (cold: JIT included), as a worker does once at start. Run once per catalog, each in its own process:
/// <c>dotnet run -c Release --project bench/MicroBench -- catalog-load [catalog.json]</c> (no path: the shipped one).</summary>
public static class CatalogLoadBench
{
    public static void Run(string[] args)
    {
        var clock = Stopwatch.StartNew();
        PriceCatalog catalog;
        if (args.Length > 1)
        {
            using var file = File.OpenRead(args[1]);
            catalog = PriceCatalog.Parse(file);
            PriceValidation.Validate(catalog);
        }
        else
        {
            catalog = PriceCatalog.Shipped();
        }

        var parsed = clock.Elapsed;
        var book = new PricingOptions().Build(catalog: catalog);
        var built = clock.Elapsed;
        book.Quote("gpt-4o", null, null, 1_000, DateTimeOffset.UtcNow);
        Console.WriteLine($"{catalog.Models.Count} entries: parse + validate {parsed.TotalMilliseconds:F0} ms, price book {(built - parsed).TotalMilliseconds:F0} ms, "
            + $"first quote {(clock.Elapsed - built).TotalMilliseconds:F1} ms, total {clock.Elapsed.TotalMilliseconds:F0} ms (cold)");
    }
}
