using System.Reflection;

namespace LlmCostTracker.Ledger;

/// <summary>A Lua script embedded in a service's assembly (a <c>Scripts/*.lua</c> file), read once. StackExchange.Redis
/// sends it by its SHA1 (EVALSHA) to a server that has it, and the text again where a server lost it (restarted,
/// or a new cluster node).</summary>
public sealed class RedisScript
{
    private RedisScript(string name, string text)
    {
        Name = name;
        Text = text;
    }

    public string Name { get; }

    public string Text { get; }

    public static RedisScript Load(Assembly assembly, string fileName)
    {
        using var stream = assembly.GetManifestResourceStream(fileName)
            ?? throw new InvalidOperationException($"The script {fileName} is not embedded in {assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        return new RedisScript(fileName, reader.ReadToEnd());
    }

    public override string ToString() => Name;
}
