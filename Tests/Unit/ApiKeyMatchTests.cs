using System.Text;
using LlmCostTracker.ApiService.Security;

namespace LlmCostTracker.Tests.Unit;

public sealed class ApiKeyMatchTests
{
    private const string Key = "k3y-Zq8vN0pL7rT2wX5yB9cD1fG4hJ6mA";
    private static readonly byte[] Expected = Encoding.UTF8.GetBytes(Key);

    [Fact]
    public void The_key_itself_matches() => Assert.True(ApiKeyAuthenticationHandler.Matches(Key, Expected));

    [Theory]
    [InlineData("k3y-Zq8vN0pL7rT2wX5yB9cD1fG4hJ6mB")] // one character off, same length
    [InlineData("K3y-Zq8vN0pL7rT2wX5yB9cD1fG4hJ6mA")] // case matters
    [InlineData("k3y-Zq8vN0pL7rT2wX5yB9cD1fG4hJ6m")] // a prefix
    [InlineData("k3y-Zq8vN0pL7rT2wX5yB9cD1fG4hJ6mAA")] // the key and more
    [InlineData("")]
    [InlineData("k3y-Zq8vN0pL7rT2wX5yB9cD1fG4hJ6mé")] // same characters, one more byte
    public void Any_other_key_does_not(string presented) => Assert.False(ApiKeyAuthenticationHandler.Matches(presented, Expected));

    [Fact]
    public void A_key_longer_than_the_stack_buffer_is_compared_too()
    {
        var key = new string('x', 2_000);
        var expected = Encoding.UTF8.GetBytes(key);
        Assert.True(ApiKeyAuthenticationHandler.Matches(key, expected));
        Assert.False(ApiKeyAuthenticationHandler.Matches(key[..^1] + "y", expected));
        Assert.False(ApiKeyAuthenticationHandler.Matches(key + "x", expected));
    }

    [Fact]
    public void Non_ascii_keys_are_compared_as_utf8()
    {
        var expected = Encoding.UTF8.GetBytes("clé-ünïcode");
        Assert.True(ApiKeyAuthenticationHandler.Matches("clé-ünïcode", expected));
        Assert.False(ApiKeyAuthenticationHandler.Matches("cle-unicode", expected));
    }

    [Fact]
    public void No_expected_key_matches_nothing() => Assert.False(ApiKeyAuthenticationHandler.Matches(Key, null));
}
