using System.Text.Json;
using System.Text.RegularExpressions;

namespace LlmCostTracker.Tests.Unit;

/// <summary>The ports in the launch profiles are the URLs a newcomer opens (eng/run.sh and the README print them); the
/// testing builder picks its own, so only this sees two resources claiming one port.</summary>
public sealed partial class LaunchPortTests
{
    [Fact]
    public void No_two_resources_share_a_host_port_in_their_launch_profiles()
    {
        var owners = new Dictionary<int, string>();
        var clashes = new List<string>();
        foreach (var file in Directory.GetFiles(RepositoryRoot(), "launchSettings.json", SearchOption.AllDirectories)
                     .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}")))
        {
            var project = Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(file)))!;
            foreach (var port in PortsIn(File.ReadAllText(file)).Distinct())
            {
                if (owners.TryGetValue(port, out var owner) && owner != project)
                {
                    clashes.Add($"{port}: {owner} and {project}");
                }

                owners.TryAdd(port, project);
            }
        }

        Assert.True(owners.Count >= 6, $"found only {owners.Count} ports: {string.Join(", ", owners)}");
        Assert.Empty(clashes);
    }

    /// <summary>Every localhost port in a launch settings file: application URLs and the AppHost's dashboard URLs.</summary>
    private static IEnumerable<int> PortsIn(string launchSettings)
    {
        using var json = JsonDocument.Parse(launchSettings);
        foreach (var profile in json.RootElement.GetProperty("profiles").EnumerateObject())
        {
            var texts = new List<string>();
            if (profile.Value.TryGetProperty("applicationUrl", out var urls))
            {
                texts.Add(urls.GetString()!);
            }

            if (profile.Value.TryGetProperty("environmentVariables", out var environment))
            {
                texts.AddRange(environment.EnumerateObject().Where(v => v.Name.EndsWith("_URL", StringComparison.Ordinal)).Select(v => v.Value.GetString()!));
            }

            foreach (Match match in texts.SelectMany(text => LocalPort().Matches(text)))
            {
                yield return int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            }
        }
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Aspire.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new DirectoryNotFoundException("Aspire.sln above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"//localhost:(\d+)")]
    private static partial Regex LocalPort();
}
