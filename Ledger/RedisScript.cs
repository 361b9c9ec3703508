using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace LlmCostTracker.Ledger;

/// <summary>A ledger script: one of the Lua files in <c>Ledger/Scripts/</c> (embedded in this assembly), read once,
/// after the helpers every script shares (<c>prelude.lua</c>: the packed counter layout, threshold lists, alert states
/// and hold entries, each written once) and any parts it is split into. Redis scripts cannot include one another, so
/// they are joined here into the one text that runs. <see cref="EvaluateAsync"/> runs it by its SHA1 (EVALSHA), and
/// sends the text where a server lost it (restarted, flushed, or a new cluster node).</summary>
public sealed class RedisScript
{
    public const string PreludeFile = "prelude.lua";

    private RedisScript(string name, string text)
    {
        Name = name;
        Text = text;
        // Redis's own name for a script (EVALSHA, SCRIPT LOAD's reply), not a security measure.
#pragma warning disable CA5350
        Hash = SHA1.HashData(Encoding.UTF8.GetBytes(text));
#pragma warning restore CA5350
    }

    public string Name { get; }

    public string Text { get; }

    /// <summary>The SHA1 of <see cref="Text"/>'s UTF-8, as Redis names the script.</summary>
    public byte[] Hash { get; }

    /// <summary>Runs the script by its hash; where the server answers NOSCRIPT (nothing ran), by its text, which also
    /// loads it there. StackExchange.Redis given the text would find the hash itself, but by looking the whole text up
    /// in a table on every call, which hashes every character of the script each time (BENCHMARKS.md).</summary>
    public async Task<RedisResult> EvaluateAsync(IDatabaseAsync db, RedisKey[] keys, RedisValue[] args)
    {
        try
        {
            return await db.ScriptEvaluateAsync(Hash, keys, args);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            return await db.ScriptEvaluateAsync(Text, keys, args);
        }
    }

    /// <summary>The prelude, then <paramref name="fileName"/>, then each of <paramref name="sections"/> in order (a
    /// script too long for one file, cut where its jobs change): one chunk, so the sections share the file's locals.</summary>
    public static RedisScript Load(string fileName, params string[] sections) =>
        new(fileName, string.Join('\n', new[] { PreludeFile, fileName }.Concat(sections).Select(Read)));

    /// <summary>The script with a Lua table per enum in <paramref name="layouts"/> prepended: <c>local HoldArg = {
    /// Action = 1, Now = 2, ... }</c>. An enum lists a script's keys, arguments or reply fields in their order, once;
    /// the script reads <c>ARGV[HoldArg.Now]</c> and the C# call writes <c>args[(int)HoldArg.Now]</c>, so neither side
    /// counts positions. Each enum's values must be 0, 1, 2, ... in declaration order (Lua's tables count from 1).</summary>
    public RedisScript Naming(params Type[] layouts) =>
        new(Name, string.Concat(layouts.Select(LuaTable)) + Text);

    private static string LuaTable(Type layout)
    {
        var values = Enum.GetValuesAsUnderlyingType(layout).Cast<object>().Select(Convert.ToInt32).ToArray();
        if (!values.SequenceEqual(Enumerable.Range(0, values.Length)))
        {
            throw new InvalidOperationException($"{layout.Name}'s values must be 0 to {values.Length - 1} in order: they name a script's positions.");
        }

        return $"local {layout.Name} = {{ {string.Join(", ", Enum.GetNames(layout).Select((name, i) => $"{name} = {i + 1}"))} }}\n";
    }

    private static string Read(string fileName)
    {
        using var stream = typeof(RedisScript).Assembly.GetManifestResourceStream(fileName)
            ?? throw new InvalidOperationException($"The script {fileName} is not embedded in {typeof(RedisScript).Assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    public override string ToString() => Name;
}
