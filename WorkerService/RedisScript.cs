namespace LlmCostTracker.WorkerService;

/// <summary>A Lua script embedded in this assembly (a <c>Scripts/*.lua</c> file), read once. StackExchange.Redis
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

    public static RedisScript Load(string fileName)
    {
        using var stream = typeof(RedisScript).Assembly.GetManifestResourceStream(fileName)
            ?? throw new InvalidOperationException($"The script {fileName} is not embedded in {typeof(RedisScript).Assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        return new RedisScript(fileName, reader.ReadToEnd());
    }

    public override string ToString() => Name;
}
