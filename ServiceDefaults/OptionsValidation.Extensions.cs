using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.Hosting;

public static class OptionsValidationExtensions
{
    /// <summary>Validates options with a function that lists every problem, each naming its key, so a bad setting
    /// stops the service with all of them in the message (DataAnnotations name one property, not an entry).</summary>
    public static OptionsBuilder<T> ValidateWith<T>(this OptionsBuilder<T> builder, Func<T, IEnumerable<string>> problems)
        where T : class
    {
        builder.Services.AddSingleton<IValidateOptions<T>>(new ProblemsValidator<T>(builder.Name, problems));
        return builder;
    }

    /// <summary>As <see cref="ValidateWith{T}(OptionsBuilder{T}, Func{T, IEnumerable{string}})"/>, for options whose
    /// problems depend on a service (other options, say).</summary>
    public static OptionsBuilder<T> ValidateWith<T, TDependency>(this OptionsBuilder<T> builder, Func<T, TDependency, IEnumerable<string>> problems)
        where T : class
        where TDependency : notnull
    {
        builder.Services.AddSingleton<IValidateOptions<T>>(services =>
            new ProblemsValidator<T>(builder.Name, options => problems(options, services.GetRequiredService<TDependency>())));
        return builder;
    }

    private sealed class ProblemsValidator<T>(string? name, Func<T, IEnumerable<string>> problems) : IValidateOptions<T>
        where T : class
    {
        public ValidateOptionsResult Validate(string? optionsName, T options)
        {
            if (name is not null && name != optionsName)
            {
                return ValidateOptionsResult.Skip;
            }

            var found = problems(options).ToList();
            return found.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(found);
        }
    }
}
