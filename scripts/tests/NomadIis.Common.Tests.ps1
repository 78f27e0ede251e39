#Requires -Version 5.1
<#
    Pester 5 tests of the error mapping in NomadIis.Common.ps1: the kinds of
    the contract's errors, environmental IIS failures as Unavailable, and
    auto-start provider names compared with case as IIS does.
#>

BeforeAll {
    Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath '..\NomadIis.psm1') -Force -DisableNameChecking
}

AfterAll {
    Remove-Module -Name 'NomadIis' -Force -ErrorAction SilentlyContinue
}

Describe 'New-NomadIisError' {
    It 'throws an error whose id and data carry the kind <Kind>' -TestCases @(
        @{ Kind = 'NotFound' }
        @{ Kind = 'InvalidArgument' }
        @{ Kind = 'Conflict' }
        @{ Kind = 'Unavailable' }
        @{ Kind = 'Internal' }
    ) {
        InModuleScope -ModuleName 'NomadIis' -Parameters @{ Kind = $Kind } -ScriptBlock {
            param ($Kind)
            $caught = $null
            try
            {
                New-NomadIisError -Kind $Kind -Message 'what went wrong'
            }
            catch
            {
                $caught = $_
            }
            $caught.FullyQualifiedErrorId | Should -BeLike ('NomadIis.' + $Kind + '*')
            $caught.Exception.Data['NomadIisKind'] | Should -BeExactly $Kind
            $caught.Exception.Message | Should -BeExactly 'what went wrong'
        }
    }
}

Describe 'ConvertTo-NomadIisError' {
    It 'maps <Case> to Unavailable' -TestCases @(
        @{ Case = 'access denied'; Exception = (New-Object -TypeName System.UnauthorizedAccessException -ArgumentList 'Cannot read configuration file due to insufficient permissions'); Message = '*must run as an administrator*' }
        @{ Case = 'a file changed on disk'; Exception = (New-Object -TypeName System.IO.FileLoadException -ArgumentList 'Cannot commit configuration changes because the file has changed on disk'); Message = '*in use or was changed by another process*' }
        @{ Case = 'a sharing violation'; Exception = (New-Object -TypeName System.Runtime.InteropServices.COMException -ArgumentList 'The process cannot access the file because it is being used by another process', -2147024864); Message = '*in use or was changed by another process*' }
    ) {
        InModuleScope -ModuleName 'NomadIis' -Parameters @{ Exception = $Exception; Message = $Message } -ScriptBlock {
            param ($Exception, $Message)
            $record = New-Object -TypeName System.Management.Automation.ErrorRecord -ArgumentList $Exception, 'IisFailure', ([System.Management.Automation.ErrorCategory]::NotSpecified), $null
            { ConvertTo-NomadIisError -ErrorRecord $record -Action 'read the IIS configuration' } |
                Should -Throw -ErrorId 'NomadIis.Unavailable' -ExpectedMessage ('cannot read the IIS configuration: ' + $Message)
        }
    }

    It 'rethrows other errors unchanged' {
        InModuleScope -ModuleName 'NomadIis' -ScriptBlock {
            $exception = New-Object -TypeName System.InvalidOperationException -ArgumentList 'something else'
            $record = New-Object -TypeName System.Management.Automation.ErrorRecord -ArgumentList $exception, 'IisFailure', ([System.Management.Automation.ErrorCategory]::NotSpecified), $null
            { ConvertTo-NomadIisError -ErrorRecord $record -Action 'commit' } | Should -Throw -ErrorId 'IisFailure' -ExpectedMessage 'something else'
        }
    }

    It 'keeps the kind of an error the module raised' {
        InModuleScope -ModuleName 'NomadIis' -ScriptBlock {
            $record = $null
            try
            {
                New-NomadIisError -Kind Conflict -Message 'taken' -InnerException (New-Object -TypeName System.UnauthorizedAccessException)
            }
            catch
            {
                $record = $_
            }
            { ConvertTo-NomadIisError -ErrorRecord $record -Action 'commit' } | Should -Throw -ErrorId 'NomadIis.Conflict' -ExpectedMessage 'taken'
        }
    }
}

Describe 'Test-CommitFailure' {
    It 'finds the commit mark on the error or an inner one' {
        InModuleScope -ModuleName 'NomadIis' -ScriptBlock {
            $inner = New-Object -TypeName System.InvalidOperationException -ArgumentList 'commit failed'
            $inner.Data['NomadIisCommitFailed'] = $true
            $outer = New-Object -TypeName System.InvalidOperationException -ArgumentList 'wrapped', $inner
            $marked = New-Object -TypeName System.Management.Automation.ErrorRecord -ArgumentList $outer, 'x', ([System.Management.Automation.ErrorCategory]::NotSpecified), $null
            Test-CommitFailure -ErrorRecord $marked | Should -BeTrue
            $plain = New-Object -TypeName System.Management.Automation.ErrorRecord -ArgumentList (New-Object -TypeName System.InvalidOperationException), 'x', ([System.Management.Automation.ErrorCategory]::NotSpecified), $null
            Test-CommitFailure -ErrorRecord $plain | Should -BeFalse
        }
    }
}

Describe 'Name comparisons' {
    It 'compares site and pool names ignoring case' {
        InModuleScope -ModuleName 'NomadIis' -ScriptBlock {
            Test-NameEqual -Left 'Nomad-Web' -Right 'nomad-web' | Should -BeTrue
        }
    }

    It 'compares auto-start provider names with case, as the IIS schema says' {
        InModuleScope -ModuleName 'NomadIis' -ScriptBlock {
            Test-ProviderNameEqual -Left 'Warmup' -Right 'warmup' | Should -BeFalse
            Test-ProviderNameEqual -Left 'Warmup' -Right 'Warmup' | Should -BeTrue
        }
    }
}
