using StackExchange.Redis;

namespace LlmCostTracker.Ledger.Tags;

/// <summary>The positions of <c>Ledger/Scripts/fold-tags.lua</c>'s keys and arguments, named once (prepended to the
/// script as Lua tables, <see cref="RedisScript.Naming"/>); the worker's TagFolder builds the call. The tag values'
/// keys follow <see cref="FoldKey.FirstPayloadKey"/>, named in the payload (JSON) by their position.</summary>
public static class FoldTagsCall
{
    public static readonly RedisScript Script = RedisScript.Load("fold-tags.lua").Naming(typeof(FoldKey), typeof(FoldArg));

    public enum FoldKey { List, Rejected, FirstPayloadKey }

    /// <summary>The deltas folded (their count, the first's and the last's id), the payload, and the 0-based positions
    /// of the deltas the folder could not read, comma-separated.</summary>
    public enum FoldArg { Count, FirstId, LastId, Payload, Rejected }

    /// <summary>The keys the fold writes besides the tag values': a list to start, which the caller fills on.</summary>
    public static List<RedisKey> Keys(string list, string rejected)
    {
        var keys = new List<RedisKey>(new RedisKey[(int)FoldKey.FirstPayloadKey]);
        keys[(int)FoldKey.List] = list;
        keys[(int)FoldKey.Rejected] = rejected;
        return keys;
    }

    public static RedisValue[] Args(int count, byte[] firstId, byte[] lastId, byte[] payload, IEnumerable<int>? rejected)
    {
        var args = new RedisValue[(int)FoldArg.Rejected + 1];
        args[(int)FoldArg.Count] = count;
        args[(int)FoldArg.FirstId] = firstId;
        args[(int)FoldArg.LastId] = lastId;
        args[(int)FoldArg.Payload] = payload;
        args[(int)FoldArg.Rejected] = rejected is null ? RedisValue.EmptyString : string.Join(',', rejected);
        return args;
    }
}
