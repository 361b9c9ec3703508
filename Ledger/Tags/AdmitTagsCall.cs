using LlmCostTracker.Contracts;
using StackExchange.Redis;

namespace LlmCostTracker.Ledger.Tags;

/// <summary>What <c>admit-tags.lua</c> answered for a tag value.</summary>
public enum TagAdmission
{
    /// <summary>Counted as <see cref="TagValidator.OtherValue"/>: its dimension-month is full.</summary>
    Refused = 0,

    /// <summary>Counted under its own name (admitted now or before).</summary>
    Admitted = 1,

    /// <summary>Refused, and the dimension-month's first refusal (the caller logs it once).</summary>
    FirstRefusal = 2,
}

/// <summary>The arguments and reply of <c>Ledger/Scripts/admit-tags.lua</c>, their order named once by the enums below
/// (prepended to the script as Lua tables, <see cref="RedisScript.Naming"/>).</summary>
public static class AdmitTagsCall
{
    public static readonly RedisScript Script = RedisScript.Load("admit-tags.lua").Naming(typeof(RegistryKey), typeof(AdmitArg), typeof(ValueArg));

    /// <summary>A dimension-month's keys: the call has one record for each dimension-month its values are in.</summary>
    public enum RegistryKey { Registry, Overflow }

    /// <summary>The call's header; a <see cref="ValueArg"/> record per value follows.</summary>
    public enum AdmitArg { Cap, ExpireAt, ValueCount }

    /// <summary>A value: the number of its dimension-month's key record (1-based), and the value.</summary>
    public enum ValueArg { Registry, Value }

    public readonly record struct Call(RedisKey[] Keys, RedisValue[] Args);

    private static readonly int RegistryKeys = Enum.GetValues<RegistryKey>().Length;
    private static readonly int Header = Enum.GetValues<AdmitArg>().Length;
    private static readonly int ValueArgs = Enum.GetValues<ValueArg>().Length;

    /// <summary>The call asking about <paramref name="values"/>, each dimension-month admitting at most
    /// <paramref name="cap"/> values.</summary>
    public static Call Encode(IReadOnlyList<(string Dimension, UsageMonth Month, string Value)> values, int cap)
    {
        var registries = values.Select(v => (v.Dimension, v.Month)).Distinct().ToList();
        var keys = new RedisKey[registries.Count * RegistryKeys];
        for (var r = 0; r < registries.Count; r++)
        {
            var (dimension, month) = registries[r];
            keys[r * RegistryKeys + (int)RegistryKey.Registry] = LedgerKeys.TagRegistry(dimension, month.Key);
            keys[r * RegistryKeys + (int)RegistryKey.Overflow] = LedgerKeys.TagOverflow(dimension, month.Key);
        }

        var args = new RedisValue[Header + values.Count * ValueArgs];
        args[(int)AdmitArg.Cap] = cap;
        // A registry lives as long as the latest month asked about.
        args[(int)AdmitArg.ExpireAt] = values.Max(v => v.Month.ExpiresAt).ToUnixTimeSeconds();
        args[(int)AdmitArg.ValueCount] = values.Count;
        for (var i = 0; i < values.Count; i++)
        {
            var at = Header + i * ValueArgs;
            args[at + (int)ValueArg.Registry] = registries.IndexOf((values[i].Dimension, values[i].Month)) + 1;
            args[at + (int)ValueArg.Value] = values[i].Value;
        }

        return new Call(keys, args);
    }

    /// <summary>One answer a value, in the call's order.</summary>
    public static TagAdmission[] Decode(RedisResult result) =>
        [.. ((RedisResult[])result!).Select(r => (int)r switch
        {
            (int)TagAdmission.Admitted => TagAdmission.Admitted,
            (int)TagAdmission.FirstRefusal => TagAdmission.FirstRefusal,
            (int)TagAdmission.Refused => TagAdmission.Refused,
            var other => throw new InvalidDataException($"admit-tags.lua answered {other}, which is not a TagAdmission."),
        })];
}
