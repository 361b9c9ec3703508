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
        // Launch profiles, and the Kestrel endpoints a project declares in appsettings.json (the API's otlp endpoint:
        // Aspire takes those as the project's endpoints).
        var files = new[] { "launchSettings.json", "appsettings.json" }
            .SelectMany(name => Directory.GetFiles(RepositoryRoot(), name, SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"));
        foreach (var file in files)
        {
            var launch = Path.GetFileName(file) == "launchSettings.json";
            var project = Path.GetFileName(launch ? Path.GetDirectoryName(Path.GetDirectoryName(file)) : Path.GetDirectoryName(file))!;
            foreach (var port in (launch ? PortsIn(File.ReadAllText(file)) : KestrelPortsIn(File.ReadAllText(file))).Distinct())
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

    /// <summary>The localhost ports of <c>Kestrel:Endpoints:*:Url</c> in an appsettings file.</summary>
    private static IEnumerable<int> KestrelPortsIn(string appSettings)
    {
        using var json = JsonDocument.Parse(appSettings, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        if (!json.RootElement.TryGetProperty("Kestrel", out var kestrel) || !kestrel.TryGetProperty("Endpoints", out var endpoints))
        {
            yield break;
        }

        foreach (var endpoint in endpoints.EnumerateObject())
        {
            foreach (Match match in LocalPort().Matches(endpoint.Value.GetProperty("Url").GetString()!))
            {
                yield return int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            }
        }
    }

    [Fact]
    public void The_APIs_otlp_endpoint_is_declared_for_HTTP2_only()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryRoot(), "ApiService", "appsettings.json")));
        var otlp = json.RootElement.GetProperty("Kestrel").GetProperty("Endpoints").GetProperty("otlp");
        // gRPC without TLS is HTTP/2 with prior knowledge, which Kestrel serves only on an Http2-only endpoint.
        Assert.Equal("Http2", otlp.GetProperty("Protocols").GetString());
        Assert.Equal(5387, KestrelPortsIn(File.ReadAllText(Path.Combine(RepositoryRoot(), "ApiService", "appsettings.json"))).Last());
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
