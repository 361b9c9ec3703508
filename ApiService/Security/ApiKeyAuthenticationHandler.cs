using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace LlmCostTracker.ApiService.Security;

public sealed class ApiKeyAuthenticationOptions : AuthenticationSchemeOptions
{
    /// <summary>The expected key. Empty means this scheme refuses everyone.</summary>
    public string? ApiKey { get; set; }

    public string HeaderName { get; set; } = ApiKeyDefaults.IngestHeader;

    /// <summary>Also accept <c>Authorization: Bearer &lt;key&gt;</c>.</summary>
    public bool AcceptBearer { get; set; }
}

/// <summary>Authenticates a shared key from a header, compared in constant time; a failed challenge answers
/// 401 as ProblemDetails.</summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<ApiKeyAuthenticationOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IProblemDetailsService problemDetails)
    : AuthenticationHandler<ApiKeyAuthenticationOptions>(options, logger, encoder)
{
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = PresentedKey();
        if (presented is null)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (!Matches(presented, Options.ApiKey))
        {
            return Task.FromResult(AuthenticateResult.Fail("The key is not valid."));
        }

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, Scheme.Name)], Scheme.Name);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        var accepted = Options.AcceptBearer ? $"{Options.HeaderName} or Authorization: Bearer" : Options.HeaderName;
        await problemDetails.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails =
            {
                Status = StatusCodes.Status401Unauthorized,
                Title = "Unauthorized",
                Detail = $"Present a valid key in {accepted}.",
            },
        });
    }

    public static bool Matches(string presented, string? expected)
    {
        if (string.IsNullOrEmpty(expected))
        {
            return false;
        }

        // Hashing first makes the comparison constant-time whatever the lengths.
        var a = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        var b = SHA256.HashData(Encoding.UTF8.GetBytes(expected));
        return CryptographicOperations.FixedTimeEquals(a, b);
    }

    private string? PresentedKey()
    {
        if (Request.Headers.TryGetValue(Options.HeaderName, out var header) && header.Count > 0)
        {
            return header.ToString();
        }

        const string bearer = "Bearer ";
        var authorization = Request.Headers.Authorization.ToString();
        return Options.AcceptBearer && authorization.StartsWith(bearer, StringComparison.OrdinalIgnoreCase)
            ? authorization[bearer.Length..].Trim()
            : null;
    }
}
